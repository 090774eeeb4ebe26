// Executors and versions: live executors, unfinished workflows per version, and moving them to the current one.
import { api } from '../api.js';
import { Badge, Card, FilterLink, Grid, Loaded, PageHead, WorkflowLink, useLoad } from '../components.jsx';
import { formatDuration } from '../format.js';
import { confirmDialog, toast } from '../overlays.jsx';
import { navigate } from '../router.js';

const VERDICTS = {
  replays: ['ok', 'REPLAYS', 'its record lines up with this code'],
  diverges: ['bad', 'DIVERGES', ''],
  unknown: ['warn', 'NOT HERE', 'this code registers no such workflow'],
  error: ['bad', 'ERROR', ''],
};

export function ExecutorsPage({ config }) {
  const result = useLoad(() => api('executors'));
  return (
    <Loaded result={result}>
      {(view) => (
        <>
          <PageHead title="Executors and versions" />
          <Card title={`Executors (${view.executors.length})`}>
            <Grid
              items={view.executors}
              empty="No executor has registered."
              head={['', 'Executor', 'Version', 'Host', '>PID', '>Last heartbeat', '>Running']}
              row={executorCells}
            />
          </Card>
          <Card title="Unfinished workflows per version">
            <VersionTable view={view} config={config} />
          </Card>
          <Card title={`Stranded workflows (${view.stranded.length})`} id="stranded">
            <p class="muted small">
              {`PENDING workflows of versions no live executor runs, oldest first, each replayed on this code (${view.currentVersion}) without running a step.`}
            </p>
            <Grid
              items={view.stranded}
              empty="None: every PENDING workflow has a live executor of its version."
              head={['Workflow', 'Name', 'Version', 'On this code', 'Where it diverges']}
              rowProps={(w) => ({ 'data-verdict': w.verdict })}
              row={strandedCells}
            />
          </Card>
        </>
      )}
    </Loaded>
  );
}

function divergenceText(d) {
  if (d.recordedName === null) return `step ${d.stepId}: the record ended there, this code calls "${d.calledName}"`;
  if (d.calledName === null) return `step ${d.stepId}: recorded "${d.recordedName}", this code ends before it`;
  return `step ${d.stepId}: recorded "${d.recordedName}", this code calls "${d.calledName}"`;
}

function strandedCells(w) {
  const [kind, label, note] = VERDICTS[w.verdict];
  return [
    <td>
      <WorkflowLink id={w.workflowId} />
    </td>,
    <td>{w.workflowName}</td>,
    <td class="mono small">{w.applicationVersion ?? '(none)'}</td>,
    <td>
      <Badge kind={kind}>{label}</Badge>
    </td>,
    <td class="small">{w.divergence ? divergenceText(w.divergence) : note || w.message || ''}</td>,
  ];
}

function executorCells(e) {
  return [
    <td>
      <Badge kind={e.live ? 'ok' : 'bad'}>{e.live ? 'LIVE' : 'SILENT'}</Badge>
    </td>,
    <td class="mono">{e.executorId}</td>,
    <td class="mono small">{e.applicationVersion}</td>,
    <td>{e.hostname}</td>,
    <td class="num">{String(e.pid)}</td>,
    <td class="num">{`${formatDuration(e.heartbeatAgeMs)} ago`}</td>,
    <td class="num">
      <FilterLink filters={{ executor: e.executorId, status: 'PENDING' }}>{String(e.running)}</FilterLink>
    </td>,
  ];
}

function VersionTable({ view, config }) {
  const move = async (version) => {
    const body = (
      <p>{`The PENDING and ENQUEUED workflows of version ${version ?? '(none)'} move to ${view.currentVersion} and run on this code from their last step.`}</p>
    );
    if (!(await confirmDialog('Move to the current version?', body, 'Move workflows'))) return;
    try {
      const answer = await api('versions/move', { body: { fromVersion: version } });
      toast(`${answer.moved} workflow(s) moved to ${answer.applicationVersion}.`, 'ok');
      navigate('executors', undefined, true);
    } catch (err) {
      toast(err.message, 'error');
    }
  };
  return (
    <Grid
      items={view.versions}
      empty="No PENDING or ENQUEUED workflow."
      head={['Version', '>Pending', '>Enqueued', '']}
      rowProps={(v) => ({ 'data-version': v.applicationVersion ?? '' })}
      row={(v) => {
        const current = v.applicationVersion === view.currentVersion;
        const version = v.applicationVersion ? { version: v.applicationVersion } : {};
        return [
          <td class="mono">
            {v.applicationVersion ?? '(none)'}
            {current && <span class="chip chip-small chip-live">current</span>}
          </td>,
          <td class="num">
            <FilterLink filters={{ status: 'PENDING', ...version }}>{String(v.pending)}</FilterLink>
          </td>,
          <td class="num">
            <FilterLink filters={{ status: 'ENQUEUED', ...version }}>{String(v.enqueued)}</FilterLink>
          </td>,
          <td>
            {!current && !config.readOnly && (
              <button class="btn btn-small" type="button" onClick={() => move(v.applicationVersion)}>
                Move to current version
              </button>
            )}
          </td>,
        ];
      }}
    />
  );
}
