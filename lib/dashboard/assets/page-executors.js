// Executors and versions: live executors, unfinished workflows per version, and moving them to the current one.
import { api, confirmDialog, el, emptyState, formatDuration, headRow, toast, workflowLink } from './ui.js';
import { navigate } from './app.js';

export async function renderExecutors(container, { config }) {
  const view = await api('executors');
  container.append(
    el('div', { class: 'page-head' }, el('h1', {}, 'Executors and versions')),
    el('section', { class: 'card' }, el('h2', {}, `Executors (${view.executors.length})`), executorTable(view.executors)),
    el('section', { class: 'card' }, el('h2', {}, 'Unfinished workflows per version'), versionTable(view, config)),
    el(
      'section',
      { class: 'card', id: 'stranded' },
      el('h2', {}, `Stranded workflows (${view.stranded.length})`),
      el(
        'p',
        { class: 'muted small' },
        `PENDING workflows of versions no live executor runs, oldest first, each replayed on this code (${view.currentVersion}) without running a step.`,
      ),
      strandedTable(view.stranded),
    ),
  );
}

const VERDICTS = {
  replays: ['ok', 'REPLAYS', 'its record lines up with this code'],
  diverges: ['bad', 'DIVERGES', ''],
  unknown: ['warn', 'NOT HERE', 'this code registers no such workflow'],
  error: ['bad', 'ERROR', ''],
};

function divergenceText(d) {
  if (d.recordedName === null) return `step ${d.stepId}: the record ended there, this code calls "${d.calledName}"`;
  if (d.calledName === null) return `step ${d.stepId}: recorded "${d.recordedName}", this code ends before it`;
  return `step ${d.stepId}: recorded "${d.recordedName}", this code calls "${d.calledName}"`;
}

function strandedTable(stranded) {
  if (stranded.length === 0) return emptyState('None: every PENDING workflow has a live executor of its version.');
  return el(
    'table',
    { class: 'grid' },
    headRow('Workflow', 'Name', 'Version', 'On this code', 'Where it diverges'),
    el(
      'tbody',
      {},
      stranded.map((w) => {
        const [kind, label, note] = VERDICTS[w.verdict];
        return el(
          'tr',
          { 'data-verdict': w.verdict },
          el('td', {}, workflowLink(w.workflowId)),
          el('td', {}, w.workflowName),
          el('td', { class: 'mono small' }, w.applicationVersion ?? '(none)'),
          el('td', {}, el('span', { class: `badge badge-${kind}` }, label)),
          el('td', { class: 'small' }, w.divergence ? divergenceText(w.divergence) : note || w.message || ''),
        );
      }),
    ),
  );
}

function executorTable(executors) {
  if (executors.length === 0) return emptyState('No executor has registered.');
  return el(
    'table',
    { class: 'grid' },
    headRow('', 'Executor', 'Version', 'Host', '>PID', '>Last heartbeat', '>Running'),
    el(
      'tbody',
      {},
      executors.map((e) =>
        el(
          'tr',
          {},
          el('td', {}, el('span', { class: `badge badge-${e.live ? 'ok' : 'bad'}` }, e.live ? 'LIVE' : 'SILENT')),
          el('td', { class: 'mono' }, e.executorId),
          el('td', { class: 'mono small' }, e.applicationVersion),
          el('td', {}, e.hostname),
          el('td', { class: 'num' }, String(e.pid)),
          el('td', { class: 'num' }, `${formatDuration(e.heartbeatAgeMs)} ago`),
          el('td', { class: 'num' }, el('a', { href: `#/workflows?executor=${encodeURIComponent(e.executorId)}&status=PENDING` }, String(e.running))),
        ),
      ),
    ),
  );
}

function versionTable(view, config) {
  if (view.versions.length === 0) return emptyState('No PENDING or ENQUEUED workflow.');
  const move = (version) => async () => {
    const body = el(
      'p',
      {},
      `The PENDING and ENQUEUED workflows of version ${version ?? '(none)'} move to ${view.currentVersion} and run on this code from their last step.`,
    );
    if (!(await confirmDialog('Move to the current version?', body, 'Move workflows'))) return;
    try {
      const result = await api('versions/move', { body: { fromVersion: version } });
      toast(`${result.moved} workflow(s) moved to ${result.applicationVersion}.`, 'ok');
      navigate('executors', undefined, true);
    } catch (err) {
      toast(err.message, 'error');
    }
  };
  return el(
    'table',
    { class: 'grid' },
    headRow('Version', '>Pending', '>Enqueued', ''),
    el(
      'tbody',
      {},
      view.versions.map((v) => {
        const current = v.applicationVersion === view.currentVersion;
        const filter = v.applicationVersion ? `&version=${encodeURIComponent(v.applicationVersion)}` : '';
        return el(
          'tr',
          {},
          el('td', { class: 'mono' }, v.applicationVersion ?? '(none)', current ? el('span', { class: 'chip chip-small chip-live' }, 'current') : null),
          el('td', { class: 'num' }, el('a', { href: `#/workflows?status=PENDING${filter}` }, String(v.pending))),
          el('td', { class: 'num' }, el('a', { href: `#/workflows?status=ENQUEUED${filter}` }, String(v.enqueued))),
          el(
            'td',
            {},
            current || config.readOnly
              ? null
              : el('button', { class: 'btn btn-small', type: 'button', onclick: move(v.applicationVersion) }, 'Move to current version'),
          ),
        );
      }),
    ),
  );
}
