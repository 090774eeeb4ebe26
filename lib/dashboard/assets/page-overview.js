// Overview: started, succeeded and failed workflows over the last hour and day, and step latency per workflow.
import { api, el, emptyState, formatDuration, headRow } from './ui.js';

const SVG = 'http://www.w3.org/2000/svg';

export async function renderOverview(container) {
  const view = await api('overview');
  const total = (buckets, key) => buckets.reduce((sum, b) => sum + b[key], 0);
  const summary = (title, period) =>
    el(
      'section',
      { class: 'card' },
      el('h2', {}, title),
      el(
        'div',
        { class: 'stats' },
        stat('Started', total(period.buckets, 'started'), 'run'),
        stat('Succeeded', total(period.buckets, 'succeeded'), 'ok'),
        stat('Failed', total(period.buckets, 'failed'), 'bad'),
      ),
      chart(period, view.now),
    );
  container.append(
    el('div', { class: 'page-head' }, el('h1', {}, 'Overview')),
    el('div', { class: 'two-col' }, summary('Last hour', view.lastHour), summary('Last 24 hours', view.lastDay)),
    el('section', { class: 'card' }, el('h2', {}, 'Step latency per workflow (last hour)'), latencyTable(view.stepLatencies)),
  );
}

function stat(label, value, kind) {
  return el('div', { class: `stat stat-${kind}` }, el('div', { class: 'stat-value' }, String(value)), el('div', { class: 'stat-label' }, label));
}

/** Grouped bars per bucket: started, succeeded, failed. */
function chart(period, now) {
  const count = Math.round((period.bucketMs === 3_600_000 ? 24 : 12) + 1);
  const first = now - (now % period.bucketMs) - (count - 1) * period.bucketMs;
  const byAt = new Map(period.buckets.map((b) => [b.at, b]));
  const series = Array.from(
    { length: count },
    (_, i) => byAt.get(first + i * period.bucketMs) ?? { at: first + i * period.bucketMs, started: 0, succeeded: 0, failed: 0 },
  );
  const max = Math.max(1, ...series.flatMap((b) => [b.started, b.succeeded, b.failed]));
  const width = 600;
  const height = 140;
  const slot = width / count;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height + 18}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  series.forEach((b, i) => {
    ['started', 'succeeded', 'failed'].forEach((key, k) => {
      const h = (b[key] / max) * height;
      const rect = document.createElementNS(SVG, 'rect');
      rect.setAttribute('x', String(i * slot + 2 + k * ((slot - 4) / 3)));
      rect.setAttribute('y', String(height - h));
      rect.setAttribute('width', String(Math.max(1, (slot - 4) / 3 - 1)));
      rect.setAttribute('height', String(h));
      rect.setAttribute('class', `bar-${key}`);
      const title = document.createElementNS(SVG, 'title');
      title.textContent = `${new Date(b.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}: ${b[key]} ${key}`;
      rect.append(title);
      svg.append(rect);
    });
    if (i % Math.ceil(count / 6) === 0) {
      const label = document.createElementNS(SVG, 'text');
      label.setAttribute('x', String(i * slot + 2));
      label.setAttribute('y', String(height + 14));
      label.setAttribute('class', 'axis');
      label.textContent = new Date(b.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      svg.append(label);
    }
  });
  return el(
    'div',
    { class: 'chart-wrap' },
    svg,
    el(
      'div',
      { class: 'legend' },
      el('span', { class: 'key key-started' }, 'started'),
      el('span', { class: 'key key-succeeded' }, 'succeeded'),
      el('span', { class: 'key key-failed' }, 'failed'),
    ),
  );
}

function latencyTable(rows) {
  if (rows.length === 0) return emptyState('No step finished in the last hour.');
  return el(
    'table',
    { class: 'grid' },
    headRow('Workflow', '>Steps', '>p50', '>p95', '>p99'),
    el(
      'tbody',
      {},
      rows.map((r) =>
        el(
          'tr',
          {},
          el('td', { class: 'strong' }, el('a', { href: `#/workflows?name=${encodeURIComponent(r.workflowName)}` }, r.workflowName)),
          el('td', { class: 'num' }, String(r.steps)),
          el('td', { class: 'num' }, formatDuration(r.p50)),
          el('td', { class: 'num' }, formatDuration(r.p95)),
          el('td', { class: 'num' }, formatDuration(r.p99)),
        ),
      ),
    ),
  );
}
