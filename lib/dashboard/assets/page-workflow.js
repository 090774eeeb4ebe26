// One workflow: status, payloads, steps timeline, what it published and received, relatives, actions.
import { api, confirmDialog, el, emptyState, errorView, formatDuration, formatTime, headRow, jsonView, statusBadge, toast, workflowLink } from './ui.js';
import { navigate } from './app.js';
import { stepsTimeline } from './steps-timeline.js';

const CANCELLABLE = ['ENQUEUED', 'PENDING'];
const RESUMABLE = ['CANCELLED', 'ERROR', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'];

export async function renderWorkflow(container, { arg: workflowId, config }) {
  const detail = await api(`workflows/${encodeURIComponent(workflowId)}`);
  const w = detail.workflow;
  const refresh = () => navigate(`workflow/${encodeURIComponent(w.workflowId)}`, undefined, true);
  const act =
    (name, title, body, label, danger, payload = {}) =>
    async () => {
      if (!(await confirmDialog(title, body, label, danger))) return;
      try {
        const result = await api(`workflows/${encodeURIComponent(w.workflowId)}/${name}`, { body: payload });
        toast(result.message, 'ok');
        if (result.forkId) navigate(`workflow/${encodeURIComponent(result.forkId)}`);
        else refresh();
      } catch (err) {
        toast(err.message, 'error');
      }
    };
  const actions = config.readOnly
    ? []
    : [
        CANCELLABLE.includes(w.status)
          ? el(
              'button',
              {
                class: 'btn btn-danger',
                type: 'button',
                id: 'cancel',
                onclick: act('cancel', 'Cancel this workflow?', cancelText(w), 'Cancel workflow', true),
              },
              'Cancel',
            )
          : null,
        RESUMABLE.includes(w.status)
          ? el(
              'button',
              { class: 'btn btn-primary', type: 'button', id: 'resume', onclick: act('resume', 'Resume this workflow?', resumeText(w), 'Resume workflow') },
              'Resume',
            )
          : null,
      ];
  const fork = config.readOnly
    ? undefined
    : (step) => act('fork', `Fork from step ${step.stepId}?`, forkText(w, step), `Fork from step ${step.stepId}`, false, { fromStep: step.stepId })();
  container.append(
    el('nav', { class: 'crumbs' }, el('a', { href: '#/workflows' }, 'Workflows'), ' / ', el('span', { class: 'mono' }, w.workflowId)),
    el('div', { class: 'page-head' }, el('h1', {}, w.workflowName, ' ', statusBadge(w.status)), el('div', { class: 'actions' }, actions)),
    facts(w),
    section('Input', jsonView(w.input)),
    w.error
      ? section('Error', errorView(w.error))
      : section('Output', w.status === 'SUCCESS' ? jsonView(w.output) : el('span', { class: 'muted' }, 'No outcome yet.')),
    section(`Steps (${detail.steps.length})`, stepsTimeline(detail.steps, w, fork)),
    section(
      `Events (${detail.events.length})`,
      keyValues(
        detail.events.map((e) => [e.key, e.value]),
        'No events set.',
      ),
    ),
    section(`Stream entries (${detail.streams.length})`, streamList(detail.streams)),
    section(`Unconsumed messages (${detail.messages.length})`, messageList(detail.messages)),
    section(`Children (${detail.children.length})`, relatives(detail.children, 'No child workflows.')),
    section(`Forks (${detail.forks.length})`, relatives(detail.forks, 'Never forked.')),
  );
}

function facts(w) {
  const item = (label, value) => el('div', { class: 'fact' }, el('dt', {}, label), el('dd', {}, value ?? el('span', { class: 'muted' }, '—')));
  const duration = w.durationMs ?? (w.status === 'PENDING' ? Date.now() - w.createdAt : null);
  return el(
    'dl',
    { class: 'facts' },
    item('Id', el('span', { class: 'mono' }, w.workflowId)),
    item('Class', w.className),
    item('Queue', w.queue ? el('a', { href: `#/workflows?queue=${encodeURIComponent(w.queue)}` }, w.queue) : null),
    item('Executor', w.executorId ? el('span', { class: 'mono' }, w.executorId) : null),
    item('Version', w.applicationVersion ? el('span', { class: 'mono' }, w.applicationVersion) : null),
    item('Created', formatTime(w.createdAt)),
    item('Updated', formatTime(w.updatedAt)),
    item('Duration', duration === null ? null : `${formatDuration(duration)}${w.durationMs === null ? ' (running)' : ''}`),
    item('Recovery attempts', String(w.recoveryAttempts)),
    item('Parent', w.parentWorkflowId ? workflowLink(w.parentWorkflowId) : null),
    item('Forked from', w.forkedFrom ? workflowLink(w.forkedFrom) : null),
    item('Attributes', w.attributes ? Object.entries(w.attributes).map(([k, v]) => el('div', { class: 'mono' }, `${k}=${v}`)) : null),
  );
}

function section(title, content) {
  return el('section', { class: 'card' }, el('h2', {}, title), content);
}

function keyValues(pairs, empty) {
  if (pairs.length === 0) return emptyState(empty);
  return el(
    'table',
    { class: 'grid kv' },
    el(
      'tbody',
      {},
      pairs.map(([k, v]) => el('tr', {}, el('th', { class: 'mono' }, k), el('td', {}, jsonView(v, 1)))),
    ),
  );
}

function streamList(entries) {
  return rowsTable(entries, 'No stream entries.', ['Stream', '>Offset', 'Value'], (e) => [
    el('td', { class: 'mono' }, e.key),
    el('td', { class: 'num' }, String(e.offset)),
    el('td', {}, e.closed ? el('span', { class: 'muted' }, '(closed)') : jsonView(e.value, 1)),
  ]);
}

function messageList(messages) {
  return rowsTable(messages, 'No messages waiting.', ['Topic', 'Sent', 'Message'], (m) => [
    el('td', { class: 'mono' }, m.topic || '(default)'),
    el('td', { class: 'nowrap' }, formatTime(m.createdAt)),
    el('td', {}, jsonView(m.message, 1)),
  ]);
}

function relatives(list, empty) {
  return rowsTable(list, empty, [], (r) => [
    el('td', {}, statusBadge(r.status)),
    el('td', {}, r.workflowName),
    el('td', {}, workflowLink(r.workflowId)),
    el('td', { class: 'nowrap' }, formatTime(r.createdAt)),
  ]);
}

/** A table of `items`, one row of `cells(item)` each; `empty` when there is none. */
function rowsTable(items, empty, head, cells) {
  if (items.length === 0) return emptyState(empty);
  return el(
    'table',
    { class: 'grid' },
    head.length > 0 ? headRow(...head) : null,
    el(
      'tbody',
      {},
      items.map((item) => el('tr', {}, cells(item))),
    ),
  );
}

function cancelText(w) {
  return el(
    'p',
    {},
    `Workflow ${w.workflowId} (${w.workflowName}) stops before its next step and becomes CANCELLED. Its children are cancelled too. It can be resumed later.`,
  );
}

function resumeText(w) {
  return el('p', {}, `Workflow ${w.workflowId} (${w.workflowName}, ${w.status}) runs again from its last completed step.`);
}

function forkText(w, step) {
  return el(
    'p',
    {},
    `A new workflow starts with the same input. It reuses the recorded results of the steps before step ${step.stepId} and runs "${step.name}" and everything after it again. ${w.workflowId} itself is not changed.`,
  );
}
