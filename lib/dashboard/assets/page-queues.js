// Queues: depth, running, limits and the oldest waiting age of each; a link to its workflows.
import { api, el, emptyState, formatDuration, headRow } from './ui.js';

export async function renderQueues(container) {
  const queues = await api('queues');
  container.append(el('div', { class: 'page-head' }, el('h1', {}, 'Queues'), el('span', { class: 'muted' }, 'Refreshes every 5 s')));
  const body = el('tbody', {});
  const table = el(
    'div',
    { class: 'table-wrap' },
    el(
      'table',
      { class: 'grid', id: 'queues' },
      headRow('Queue', '>Waiting', '>Running', '>Oldest waiting', '>Concurrency', '>Per worker', 'Rate limit', 'Partitions', ''),
      body,
    ),
  );
  const fill = (list) => body.replaceChildren(...list.map(queueRow));
  fill(queues);
  container.append(queues.length === 0 ? emptyState('No queue has work and none is declared by this process.') : table);
  const timer = setInterval(async () => {
    try {
      fill(await api('queues'));
    } catch {
      // The next tick tries again; the table keeps its last figures.
    }
  }, 5000);
  return () => clearInterval(timer);
}

function queueRow(q) {
  const limit = (value) => (value === undefined || value === null ? el('span', { class: 'muted' }, '—') : String(value));
  const l = q.limits;
  const old = q.oldestWaitingMs;
  return el(
    'tr',
    { 'data-queue': q.queue },
    el(
      'td',
      { class: 'strong' },
      q.queue,
      l ? null : el('span', { class: 'chip chip-small', title: 'This process does not declare the queue' }, 'not declared here'),
    ),
    el('td', { class: 'num' }, el('span', { class: q.enqueued > 0 ? 'count count-wait' : 'count' }, String(q.enqueued))),
    el('td', { class: 'num' }, el('span', { class: q.running > 0 ? 'count count-run' : 'count' }, String(q.running))),
    el('td', { class: `num ${old !== null && old > 60_000 ? 'text-warn' : ''}` }, old === null ? '—' : formatDuration(old)),
    el('td', { class: 'num' }, limit(l?.concurrency)),
    el('td', { class: 'num' }, limit(l?.workerConcurrency)),
    el('td', {}, l?.rateLimit ? `${l.rateLimit.limit} per ${formatDuration(l.rateLimit.periodMs)}` : limit(null)),
    el('td', {}, l?.partitioned ? `yes, ${l.partitionConcurrency ?? l.concurrency ?? '∞'} each` : limit(null)),
    el(
      'td',
      { class: 'nowrap' },
      el('a', { href: `#/workflows?queue=${encodeURIComponent(q.queue)}&status=ENQUEUED` }, 'waiting'),
      ' · ',
      el('a', { href: `#/workflows?queue=${encodeURIComponent(q.queue)}` }, 'all'),
    ),
  );
}
