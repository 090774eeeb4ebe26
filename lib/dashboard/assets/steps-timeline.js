// A workflow's steps as a timeline: a bar per step on the workflow's time axis, with duration and error.
import { el, errorView, formatDuration, formatTime, jsonView, workflowLink } from './ui.js';

export function stepsTimeline(steps, workflow, onFork) {
  if (steps.length === 0) return el('div', { class: 'empty' }, 'No steps recorded yet.');
  const starts = steps.map((s) => s.startedAt).filter((t) => t !== null);
  const ends = steps.map((s) => s.completedAt ?? s.startedAt).filter((t) => t !== null);
  const t0 = Math.min(workflow.createdAt, ...starts);
  const t1 = Math.max(t0 + 1, ...ends);
  const list = el('ol', { class: 'timeline' });
  for (const step of steps) {
    const left = step.startedAt === null ? 0 : ((step.startedAt - t0) / (t1 - t0)) * 100;
    const width = step.durationMs === null ? 0.5 : Math.max(0.5, (step.durationMs / (t1 - t0)) * 100);
    const state = step.error ? 'bad' : 'ok';
    list.append(
      el(
        'li',
        { class: `step step-${state}`, 'data-step': step.stepId },
        el(
          'div',
          { class: 'step-head' },
          el('span', { class: 'step-no' }, String(step.stepId)),
          el('span', { class: 'step-name' }, step.name),
          el('span', { class: 'step-time muted' }, step.startedAt === null ? '' : formatTime(step.startedAt)),
          el('span', { class: 'step-dur num' }, formatDuration(step.durationMs)),
          onFork
            ? el(
                'button',
                {
                  class: 'btn btn-small',
                  type: 'button',
                  'data-fork': step.stepId,
                  onclick: () => onFork(step),
                  title: 'Start a new workflow that runs again from this step',
                },
                'Fork from here',
              )
            : null,
        ),
        el(
          'div',
          { class: 'bar-track' },
          el('div', { class: `bar bar-${state}`, style: { marginLeft: `${left.toFixed(2)}%`, width: `${Math.min(width, 100 - left).toFixed(2)}%` } }),
        ),
        step.childWorkflowId ? el('div', { class: 'step-child' }, 'Child workflow ', workflowLink(step.childWorkflowId)) : null,
        step.error
          ? errorView(step.error)
          : step.output !== null && step.output !== undefined
            ? el('details', { class: 'step-output' }, el('summary', {}, 'Output'), jsonView(step.output, 1))
            : null,
      ),
    );
  }
  return list;
}
