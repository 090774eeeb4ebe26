// The workflows table: filters in the URL, keyset pages (the API's cursor), live updates over SSE.
import { api, el, emptyState, formatDuration, formatTime, headRow, statusBadge, workflowLink } from './ui.js';
import { navigate } from './app.js';

const STATUSES = ['ENQUEUED', 'PENDING', 'SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'];
const TEXT_FILTERS = [
  ['idPrefix', 'Id starts with'],
  ['name', 'Workflow name'],
  ['queue', 'Queue'],
  ['executor', 'Executor'],
  ['version', 'Version'],
];
const FILTER_KEYS = ['status', 'from', 'to', ...TEXT_FILTERS.map(([key]) => key)];

export async function renderWorkflows(container, { params }) {
  const filters = new URLSearchParams();
  for (const key of [...FILTER_KEYS, 'cursor', 'limit']) if (params.get(key)) filters.set(key, params.get(key));
  container.append(
    el('div', { class: 'page-head' }, el('h1', {}, 'Workflows'), el('span', { class: 'chip', id: 'live' }, '○ connecting')),
    filterForm(filters),
  );
  const page = await api(`workflows?${apiQuery(filters)}`);
  const body = el('tbody', {});
  const rows = new Map();
  for (const workflow of page.workflows) addRow(body, rows, workflow, false);
  const table = el(
    'div',
    { class: 'table-wrap' },
    el('table', { class: 'grid', id: 'workflows' }, headRow('Status', 'Name', 'Id', 'Queue', 'Executor', 'Version', 'Created', '>Duration'), body),
  );
  container.append(table);
  if (page.workflows.length === 0) container.append(emptyState('No workflow matches these filters.'));
  container.append(pager(filters, page.nextCursor, page.workflows.length));
  return watch(body, rows, filters);
}

function apiQuery(filters) {
  const query = new URLSearchParams(filters);
  for (const key of ['from', 'to']) if (query.get(key)) query.set(key, new Date(query.get(key)).toISOString());
  return query.toString();
}

function filterForm(filters) {
  const statusSelect = el('select', { name: 'status', 'aria-label': 'Status' }, el('option', { value: '' }, 'Any status'));
  for (const status of STATUSES) statusSelect.append(el('option', { value: status, selected: filters.get('status') === status }, status));
  const form = el(
    'form',
    { class: 'filters', id: 'filters' },
    el('label', {}, el('span', {}, 'Status'), statusSelect),
    TEXT_FILTERS.map(([key, label]) =>
      el('label', {}, el('span', {}, label), el('input', { name: key, value: filters.get(key) ?? '', autocomplete: 'off', spellcheck: 'false' })),
    ),
    el('label', {}, el('span', {}, 'Created from'), el('input', { name: 'from', type: 'datetime-local', step: 1, value: filters.get('from') ?? '' })),
    el('label', {}, el('span', {}, 'Created before'), el('input', { name: 'to', type: 'datetime-local', step: 1, value: filters.get('to') ?? '' })),
    el(
      'div',
      { class: 'filter-actions' },
      el('button', { class: 'btn btn-primary', type: 'submit' }, 'Apply'),
      el('button', { class: 'btn', type: 'button', onclick: () => navigate('workflows', new URLSearchParams()) }, 'Clear'),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (String(value).trim() !== '') next.set(key, String(value).trim());
    navigate('workflows', next);
  });
  return form;
}

function pager(filters, nextCursor, count) {
  const first = new URLSearchParams(filters);
  first.delete('cursor');
  const next = new URLSearchParams(filters);
  if (nextCursor) next.set('cursor', nextCursor);
  return el(
    'div',
    { class: 'pager' },
    el('span', { class: 'muted' }, `${count} shown${filters.get('cursor') ? ' (a later page)' : ''}`),
    filters.get('cursor') ? el('button', { class: 'btn', type: 'button', onclick: () => navigate('workflows', first) }, '⇤ Newest') : null,
    filters.get('cursor') ? el('button', { class: 'btn', type: 'button', onclick: () => history.back() }, '← Previous') : null,
    el('button', { class: 'btn', type: 'button', disabled: !nextCursor, onclick: () => navigate('workflows', next) }, 'Next →'),
  );
}

function rowOf(w) {
  const duration = w.durationMs ?? (w.status === 'PENDING' ? Date.now() - w.createdAt : null);
  return el(
    'tr',
    { 'data-id': w.workflowId, 'data-status': w.status },
    el('td', {}, statusBadge(w.status)),
    el('td', { class: 'strong' }, w.workflowName),
    el('td', { class: 'id-cell' }, workflowLink(w.workflowId)),
    el('td', {}, w.queue ? el('a', { href: `#/workflows?queue=${encodeURIComponent(w.queue)}` }, w.queue) : el('span', { class: 'muted' }, '—')),
    el('td', { class: 'mono small' }, w.executorId ?? '—'),
    el('td', { class: 'mono small' }, w.applicationVersion ?? '—'),
    el('td', { class: 'nowrap' }, formatTime(w.createdAt)),
    el('td', { class: 'nowrap num' }, w.durationMs === null && duration !== null ? `${formatDuration(duration)} …` : formatDuration(duration)),
  );
}

function addRow(body, rows, workflow, atTop) {
  const row = rowOf(workflow);
  rows.set(workflow.workflowId, row);
  if (atTop) body.prepend(row);
  else body.append(row);
  return row;
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
  if (f('from') && w.createdAt < new Date(f('from')).getTime()) return false;
  if (f('to') && w.createdAt >= new Date(f('to')).getTime()) return false;
  return true;
}

/** Live updates: rows change in place; new matching workflows appear on top of the first page. */
function watch(body, rows, filters) {
  const onFirstPage = !filters.get('cursor') && filters.get('order') !== 'asc';
  const source = new EventSource('api/feed');
  const live = document.getElementById('live');
  source.addEventListener('open', () => {
    live.textContent = '● live';
    live.className = 'chip chip-live';
  });
  source.addEventListener('error', () => {
    live.textContent = '○ reconnecting';
    live.className = 'chip chip-warn';
  });
  source.addEventListener('workflow', (event) => {
    const workflow = JSON.parse(event.data);
    const existing = rows.get(workflow.workflowId);
    if (existing) {
      const replacement = rowOf(workflow);
      existing.replaceWith(replacement);
      rows.set(workflow.workflowId, replacement);
      replacement.classList.add('flash');
    } else if (onFirstPage && matches(workflow, filters)) {
      document.querySelector('.empty')?.remove();
      addRow(body, rows, workflow, true).classList.add('flash');
    }
  });
  return () => source.close();
}
