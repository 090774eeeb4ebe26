// The workflows table: filters in the URL (the form's fields start from it and are not reset by a
// live update), keyset pages (the API's cursor), live updates over SSE.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { EmptyState, ErrorState, FilterLink, HeadRow, Muted, PageHead, StatusBadge, WorkflowLink } from '../components.jsx';
import { formatDuration, formatTime, runningTime } from '../format.js';
import { navigate } from '../router.js';

const STATUSES = ['ENQUEUED', 'PENDING', 'SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'];
const TEXT_FILTERS = [
  ['idPrefix', 'Id starts with'],
  ['name', 'Workflow name'],
  ['queue', 'Queue'],
  ['executor', 'Executor'],
  ['version', 'Version'],
  ['attr', 'Attributes (k=v, …)'],
];
const FILTER_KEYS = ['status', 'from', 'to', ...TEXT_FILTERS.map(([key]) => key)];
const LIVE = {
  connecting: ['chip', '○ connecting'],
  live: ['chip chip-live', '● live'],
  reconnecting: ['chip chip-warn', '○ reconnecting'],
};

export function WorkflowsPage({ params }) {
  const filters = new URLSearchParams();
  for (const key of [...FILTER_KEYS, 'cursor', 'limit']) if (params.get(key)) filters.set(key, params.get(key));
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const [live, setLive] = useState('connecting');
  useEffect(() => {
    let mounted = true;
    api(`workflows?${apiQuery(filters)}`).then(
      (answer) => mounted && setPage({ rows: answer.workflows.map((w) => ({ w, flash: 0 })), nextCursor: answer.nextCursor }),
      (err) => mounted && setError(err),
    );
    const source = watch(filters, setLive, setPage);
    return () => {
      mounted = false;
      source.close();
    };
  }, []);
  const [chipClass, chipText] = LIVE[live];
  return (
    <>
      <PageHead title="Workflows">
        <span class={chipClass} id="live">
          {chipText}
        </span>
      </PageHead>
      <FilterForm filters={filters} />
      {error && <ErrorState error={error} />}
      {page && (
        <>
          <div class="table-wrap">
            <table class="grid" id="workflows">
              <HeadRow labels={['Status', 'Name', 'Id', 'Queue', 'Executor', 'Version', 'Created', '>Duration']} />
              <tbody>
                {page.rows.map(({ w, flash }) => (
                  <WorkflowRow key={`${w.workflowId}:${flash}`} w={w} flash={flash > 0} />
                ))}
              </tbody>
            </table>
          </div>
          {page.rows.length === 0 && <EmptyState>No workflow matches these filters.</EmptyState>}
          <Pager filters={filters} nextCursor={page.nextCursor} count={page.rows.length} />
        </>
      )}
    </>
  );
}

function apiQuery(filters) {
  const query = new URLSearchParams(filters);
  for (const key of ['from', 'to']) if (query.get(key)) query.set(key, new Date(query.get(key)).toISOString());
  return query.toString();
}

function FilterForm({ filters }) {
  const submit = (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, value] of new FormData(event.currentTarget)) if (String(value).trim() !== '') next.set(key, String(value).trim());
    navigate('workflows', next);
  };
  const dateInput = (name, label) => (
    <label>
      <span>{label}</span>
      <input name={name} type="datetime-local" step="1" defaultValue={filters.get(name) ?? ''} />
    </label>
  );
  return (
    <form class="filters" id="filters" onSubmit={submit}>
      <label>
        <span>Status</span>
        <select name="status" aria-label="Status">
          <option value="">Any status</option>
          {STATUSES.map((status) => (
            <option key={status} value={status} selected={filters.get('status') === status}>
              {status}
            </option>
          ))}
        </select>
      </label>
      {TEXT_FILTERS.map(([key, label]) => (
        <label key={key}>
          <span>{label}</span>
          <input name={key} defaultValue={filters.get(key) ?? ''} autocomplete="off" spellcheck={false} />
        </label>
      ))}
      {dateInput('from', 'Created from')}
      {dateInput('to', 'Created before')}
      <div class="filter-actions">
        <button class="btn btn-primary" type="submit">
          Apply
        </button>
        <button class="btn" type="button" onClick={() => navigate('workflows', new URLSearchParams())}>
          Clear
        </button>
      </div>
    </form>
  );
}

function Pager({ filters, nextCursor, count }) {
  const later = Boolean(filters.get('cursor'));
  const first = new URLSearchParams(filters);
  first.delete('cursor');
  const next = new URLSearchParams(filters);
  if (nextCursor) next.set('cursor', nextCursor);
  return (
    <div class="pager">
      <span class="muted">{`${count} shown${later ? ' (a later page)' : ''}`}</span>
      {later && (
        <button class="btn" type="button" onClick={() => navigate('workflows', first)}>
          ⇤ Newest
        </button>
      )}
      {later && (
        <button class="btn" type="button" onClick={() => history.back()}>
          ← Previous
        </button>
      )}
      <button class="btn" type="button" disabled={!nextCursor} onClick={() => navigate('workflows', next)}>
        Next →
      </button>
    </div>
  );
}

function WorkflowRow({ w, flash }) {
  const duration = runningTime(w);
  return (
    <tr data-id={w.workflowId} data-status={w.status} class={flash ? 'flash' : undefined}>
      <td>
        <StatusBadge status={w.status} />
      </td>
      <td class="strong">{w.workflowName}</td>
      <td class="id-cell">
        <WorkflowLink id={w.workflowId} />
      </td>
      <td>{w.queue ? <FilterLink filters={{ queue: w.queue }}>{w.queue}</FilterLink> : <Muted />}</td>
      <td class="mono small">{w.executorId ?? '—'}</td>
      <td class="mono small">{w.applicationVersion ?? '—'}</td>
      <td class="nowrap">{formatTime(w.createdAt)}</td>
      <td class="nowrap num">{w.durationMs === null && duration !== null ? `${formatDuration(duration)} …` : formatDuration(duration)}</td>
    </tr>
  );
}

/** Does the workflow belong in this view? (The same filters the API applies.) */
function matches(w, filters) {
  const f = (key) => filters.get(key);
  if (f('status') && !f('status').split(',').includes(w.status)) return false;
  if (f('name') && w.workflowName !== f('name')) return false;
  if (f('queue') && w.queue !== f('queue')) return false;
  if (f('executor') && w.executorId !== f('executor')) return false;
  if (f('version') && w.applicationVersion !== f('version')) return false;
  if (f('idPrefix') && !w.workflowId.startsWith(f('idPrefix'))) return false;
  if (f('attr') && !hasAttributes(w.attributes, f('attr'))) return false;
  if (f('from') && w.createdAt < new Date(f('from')).getTime()) return false;
  if (f('to') && w.createdAt >= new Date(f('to')).getTime()) return false;
  return true;
}

/** Every `key=value` pair of the filter (as the API reads it) is among the workflow's attributes. */
function hasAttributes(attributes, filter) {
  return filter.split(',').every((pair) => {
    const at = pair.indexOf('=');
    return attributes != null && attributes[pair.slice(0, at).trim()] === pair.slice(at + 1).trim();
  });
}

/** Live updates: rows change in place; new matching workflows appear on top of the first page. */
function watch(filters, setLive, setPage) {
  const onFirstPage = !filters.get('cursor') && filters.get('order') !== 'asc';
  const source = new EventSource('api/feed');
  source.addEventListener('open', () => setLive('live'));
  source.addEventListener('error', () => setLive('reconnecting'));
  source.addEventListener('workflow', (event) => {
    const w = JSON.parse(event.data);
    setPage((page) => {
      if (!page) return page;
      const at = page.rows.findIndex((row) => row.w.workflowId === w.workflowId);
      if (at >= 0) return { ...page, rows: page.rows.map((row, i) => (i === at ? { w, flash: row.flash + 1 } : row)) };
      if (onFirstPage && matches(w, filters)) return { ...page, rows: [{ w, flash: 1 }, ...page.rows] };
      return page;
    });
  });
  return source;
}
