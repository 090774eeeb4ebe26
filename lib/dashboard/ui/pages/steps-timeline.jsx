// A workflow's steps as a timeline: a bar per step on the workflow's time axis, with duration and error.
import { DottedName, EmptyState, ErrorView, JsonView, WorkflowLink } from '../components.jsx';
import { formatDuration, formatTime } from '../format.js';

export function StepsTimeline({ steps, workflow, onFork }) {
  if (steps.length === 0) return <EmptyState>No steps recorded yet.</EmptyState>;
  const starts = steps.map((s) => s.startedAt).filter((t) => t !== null);
  const ends = steps.map((s) => s.completedAt ?? s.startedAt).filter((t) => t !== null);
  const t0 = Math.min(workflow.createdAt, ...starts);
  const t1 = Math.max(t0 + 1, ...ends);
  return (
    <ol class="timeline">
      {steps.map((step) => (
        <Step key={step.stepId} step={step} t0={t0} t1={t1} onFork={onFork} />
      ))}
    </ol>
  );
}

function Step({ step, t0, t1, onFork }) {
  const left = step.startedAt === null ? 0 : ((step.startedAt - t0) / (t1 - t0)) * 100;
  const width = step.durationMs === null ? 0.5 : Math.max(0.5, (step.durationMs / (t1 - t0)) * 100);
  const state = step.error ? 'bad' : 'ok';
  // A style object is set through the CSSOM, which the page's Content-Security-Policy allows.
  const bar = { marginLeft: `${left.toFixed(2)}%`, width: `${Math.min(width, 100 - left).toFixed(2)}%` };
  return (
    <li class={`step step-${state}`} data-step={step.stepId}>
      <div class="step-head">
        <span class="step-no">{String(step.stepId)}</span>
        <span class="step-name" title={step.name}>
          <DottedName name={step.name} />
        </span>
        <span class="step-time muted">{step.startedAt === null ? '' : formatTime(step.startedAt)}</span>
        <span class="step-dur num">{formatDuration(step.durationMs)}</span>
        {onFork && (
          <button
            class="btn btn-small"
            type="button"
            data-fork={step.stepId}
            onClick={() => onFork(step)}
            title="Start a new workflow that runs again from this step"
          >
            Fork from here
          </button>
        )}
      </div>
      <div class="bar-track">
        <div class={`bar bar-${state}`} style={bar} />
      </div>
      {step.childWorkflowId && (
        <div class="step-child">
          Child workflow <WorkflowLink id={step.childWorkflowId} />
        </div>
      )}
      {step.failedAttempts.length > 0 && <FailedAttempts attempts={step.failedAttempts} />}
      {step.error ? (
        <ErrorView error={step.error} />
      ) : (
        step.output !== null &&
        step.output !== undefined && (
          <details class="step-output">
            <summary>Output</summary>
            <JsonView value={step.output} depth={1} />
          </details>
        )
      )}
    </li>
  );
}

/** The attempts of a retried step that threw, each with when, how long and what it met. */
function FailedAttempts({ attempts }) {
  return (
    <details class="step-attempts" open>
      <summary>
        {attempts.length} failed attempt{attempts.length === 1 ? '' : 's'}
      </summary>
      <ol>
        {attempts.map((a) => (
          <li key={a.attempt} data-attempt={a.attempt}>
            <span class="muted">
              Attempt {a.attempt} · {formatTime(a.startedAt)} · {formatDuration(a.durationMs)}:{' '}
            </span>
            <span class="attempt-error">{typeof a.error === 'string' ? a.error : `${a.error?.name ?? 'Error'}: ${a.error?.message ?? ''}`}</span>
          </li>
        ))}
      </ol>
    </details>
  );
}
