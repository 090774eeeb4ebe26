// Queues: depth, running, limits and the oldest waiting age of each; a link to its workflows.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { EmptyState, FilterLink, Grid, Loaded, Muted, PageHead, useLoad } from '../components.jsx';
import { formatDuration } from '../format.js';

const HEAD = ['Queue', '>Waiting', '>Running', '>Oldest waiting', '>Concurrency', '>Per worker', 'Rate limit', 'Partitions', ''];

export function QueuesPage() {
  const first = useLoad(() => api('queues'));
  return (
    <>
      <PageHead title="Queues">
        <span class="muted">Refreshes every 5 s</span>
      </PageHead>
      <Loaded result={first}>{(queues) => <QueueTable initial={queues} />}</Loaded>
    </>
  );
}

function QueueTable({ initial }) {
  const [queues, setQueues] = useState(initial);
  useEffect(() => {
    const timer = setInterval(async () => {
      try {
        setQueues(await api('queues'));
      } catch {
        // The next tick tries again; the table keeps its last figures.
      }
    }, 5000);
    return () => clearInterval(timer);
  }, []);
  if (queues.length === 0) return <EmptyState>No queue has work and none is declared by this process.</EmptyState>;
  return <Grid id="queues" wrap items={queues} head={HEAD} rowProps={(q) => ({ 'data-queue': q.queue })} row={queueCells} />;
}

function queueCells(q) {
  const limit = (value) => (value === undefined || value === null ? <Muted /> : String(value));
  const l = q.limits;
  const old = q.oldestWaitingMs;
  return [
    <td class="strong">
      {q.queue}
      {!l && (
        <span class="chip chip-small" title="This process does not declare the queue">
          not declared here
        </span>
      )}
    </td>,
    <td class="num">
      <span class={q.enqueued > 0 ? 'count count-wait' : 'count'}>{String(q.enqueued)}</span>
    </td>,
    <td class="num">
      <span class={q.running > 0 ? 'count count-run' : 'count'}>{String(q.running)}</span>
    </td>,
    <td class={`num ${old !== null && old > 60_000 ? 'text-warn' : ''}`}>{old === null ? '—' : formatDuration(old)}</td>,
    <td class="num">{limit(l?.concurrency)}</td>,
    <td class="num">{limit(l?.workerConcurrency)}</td>,
    <td>{l?.rateLimit ? `${l.rateLimit.limit} per ${formatDuration(l.rateLimit.periodMs)}` : limit(null)}</td>,
    <td>{l?.partitioned ? `yes, ${l.partitionConcurrency ?? l.concurrency ?? '∞'} each` : limit(null)}</td>,
    <td class="nowrap">
      <FilterLink filters={{ queue: q.queue, status: 'ENQUEUED' }}>waiting</FilterLink> · <FilterLink filters={{ queue: q.queue }}>all</FilterLink>
    </td>,
  ];
}
