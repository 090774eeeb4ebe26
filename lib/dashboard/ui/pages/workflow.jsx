// One workflow: status, payloads, steps timeline, what it published and received, relatives, actions.
import { api } from '../api.js';
import { Card, EmptyState, ErrorView, FilterLink, Grid, JsonView, Loaded, Muted, StatusBadge, WorkflowLink, useLoad } from '../components.jsx';
import { formatDuration, formatTime, runningTime } from '../format.js';
import { confirmDialog, toast } from '../overlays.jsx';
import { navigate } from '../router.js';
import { StepsTimeline } from './steps-timeline.jsx';

const CANCELLABLE = ['ENQUEUED', 'PENDING'];
const RESUMABLE = ['CANCELLED', 'ERROR', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'];

export function WorkflowPage({ arg: workflowId, config }) {
  const result = useLoad(() => api(`workflows/${encodeURIComponent(workflowId)}`));
  return <Loaded result={result}>{(detail) => <WorkflowDetail detail={detail} config={config} />}</Loaded>;
}

function WorkflowDetail({ detail, config }) {
  const w = detail.workflow;
  const page = `workflow/${encodeURIComponent(w.workflowId)}`;
  /** Confirms, POSTs the action, shows its answer; opens a fork, else shows this workflow anew. */
  const act = async (name, title, body, label, danger, payload = {}) => {
    if (!(await confirmDialog(title, body, label, danger))) return;
    try {
      const answer = await api(`workflows/${encodeURIComponent(w.workflowId)}/${name}`, { body: payload });
      toast(answer.message, 'ok');
      if (answer.forkId) navigate(`workflow/${encodeURIComponent(answer.forkId)}`);
      else navigate(page, undefined, true);
    } catch (err) {
      toast(err.message, 'error');
    }
  };
  const fork = config.readOnly
    ? undefined
    : (step) =>
        act('fork', `Fork from step ${step.stepId}?`, <ForkText w={w} step={step} />, `Fork from step ${step.stepId}`, false, {
          fromStep: step.stepId,
        });
  return (
    <>
      <nav class="crumbs">
        <a href="#/workflows">Workflows</a> / <span class="mono">{w.workflowId}</span>
      </nav>
      <div class="page-head">
        <h1>
          {w.workflowName} <StatusBadge status={w.status} />
        </h1>
        <div class="actions">
          {!config.readOnly && CANCELLABLE.includes(w.status) && (
            <button
              class="btn btn-danger"
              type="button"
              id="cancel"
              onClick={() =>
                act(
                  'cancel',
                  'Cancel this workflow?',
                  <p>{`Workflow ${w.workflowId} (${w.workflowName}) stops before its next step and becomes CANCELLED. Its children are cancelled too. It can be resumed later.`}</p>,
                  'Cancel workflow',
                  true,
                )
              }
            >
              Cancel
            </button>
          )}
          {!config.readOnly && RESUMABLE.includes(w.status) && (
            <button
              class="btn btn-primary"
              type="button"
              id="resume"
              onClick={() =>
                act(
                  'resume',
                  'Resume this workflow?',
                  <p>{`Workflow ${w.workflowId} (${w.workflowName}, ${w.status}) runs again from its last completed step.`}</p>,
                  'Resume workflow',
                )
              }
            >
              Resume
            </button>
          )}
        </div>
      </div>
      <Facts w={w} />
      <Card title="Input">
        <JsonView value={w.input} />
      </Card>
      {w.error ? (
        <Card title="Error">
          <ErrorView error={w.error} />
        </Card>
      ) : (
        <Card title="Output">{w.status === 'SUCCESS' ? <JsonView value={w.output} /> : <Muted>No outcome yet.</Muted>}</Card>
      )}
      <Card title={`Steps (${detail.steps.length})`}>
        <StepsTimeline steps={detail.steps} workflow={w} onFork={fork} />
      </Card>
      <Card title={`Events (${detail.events.length})`}>
        <KeyValues pairs={detail.events.map((e) => [e.key, e.value])} empty="No events set." />
      </Card>
      <Card title={`Stream entries (${detail.streams.length})`}>
        <Grid
          items={detail.streams}
          empty="No stream entries."
          head={['Stream', '>Offset', 'Value']}
          row={(e) => [
            <td class="mono">{e.key}</td>,
            <td class="num">{String(e.offset)}</td>,
            <td>{e.closed ? <Muted>(closed)</Muted> : <JsonView value={e.value} depth={1} />}</td>,
          ]}
        />
      </Card>
      <Card title={`Unconsumed messages (${detail.messages.length})`}>
        <Grid
          items={detail.messages}
          empty="No messages waiting."
          head={['Topic', 'Sent', 'Message']}
          row={(m) => [
            <td class="mono">{m.topic || '(default)'}</td>,
            <td class="nowrap">{formatTime(m.createdAt)}</td>,
            <td>
              <JsonView value={m.message} depth={1} />
            </td>,
          ]}
        />
      </Card>
      <Card title={`Children (${detail.children.length})`}>
        <Relatives list={detail.children} empty="No child workflows." />
      </Card>
      <Card title={`Forks (${detail.forks.length})`}>
        <Relatives list={detail.forks} empty="Never forked." />
      </Card>
    </>
  );
}

function Facts({ w }) {
  const duration = runningTime(w);
  const item = (label, value) => (
    <div class="fact">
      <dt>{label}</dt>
      <dd>{value ?? <Muted />}</dd>
    </div>
  );
  const mono = (text) => (text ? <span class="mono">{text}</span> : null);
  return (
    <dl class="facts">
      {item('Id', mono(w.workflowId))}
      {item('Class', w.className)}
      {item('Queue', w.queue ? <FilterLink filters={{ queue: w.queue }}>{w.queue}</FilterLink> : null)}
      {item('Executor', mono(w.executorId))}
      {item('Version', mono(w.applicationVersion))}
      {item('Created', formatTime(w.createdAt))}
      {item('Updated', formatTime(w.updatedAt))}
      {item('Duration', duration === null ? null : `${formatDuration(duration)}${w.durationMs === null ? ' (running)' : ''}`)}
      {item('Recovery attempts', String(w.recoveryAttempts))}
      {item('Parent', w.parentWorkflowId ? <WorkflowLink id={w.parentWorkflowId} /> : null)}
      {item('Forked from', w.forkedFrom ? <WorkflowLink id={w.forkedFrom} /> : null)}
      {item(
        'Attributes',
        w.attributes
          ? Object.entries(w.attributes).map(([k, v]) => (
              <div class="mono" key={k}>
                {`${k}=${v}`}
              </div>
            ))
          : null,
      )}
    </dl>
  );
}

function KeyValues({ pairs, empty }) {
  if (pairs.length === 0) return <EmptyState>{empty}</EmptyState>;
  return (
    <table class="grid kv">
      <tbody>
        {pairs.map(([k, v]) => (
          <tr key={k}>
            <th class="mono">{k}</th>
            <td>
              <JsonView value={v} depth={1} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Relatives({ list, empty }) {
  return (
    <Grid
      items={list}
      empty={empty}
      row={(r) => [
        <td>
          <StatusBadge status={r.status} />
        </td>,
        <td>{r.workflowName}</td>,
        <td>
          <WorkflowLink id={r.workflowId} />
        </td>,
        <td class="nowrap">{formatTime(r.createdAt)}</td>,
      ]}
    />
  );
}

function ForkText({ w, step }) {
  return (
    <p>
      {`A new workflow starts with the same input. It reuses the recorded results of the steps before step ${step.stepId} and runs "${step.name}" and everything after it again. ${w.workflowId} itself is not changed.`}
    </p>
  );
}
