'use strict';
// The scale workload (nestjs-dbos): fills `--scale-rows` finished workflows (3 checkpoints each)
// with generate_series, then measures, on that history:
//   - the concurrent workload's throughput, against the same workload on the empty tables first;
//   - every management call a dashboard makes (each list filter, a deep OFFSET page, a keyset
//     page, listSteps, queueStats): p50 of 5 calls after one untimed, and the plan Postgres
//     chose for the statement the call sent (EXPLAIN of its exact text and values);
//   - deleteOlderThan of half the rows while the concurrent workload runs, against its
//     throughput just before.
const { performance } = require('node:perf_hooks');
const { Client } = require('pg');
const counting = require('./counting');
const { runWorkload, runWhile, percentile } = require('./harness');

const { fillHistory, DAY } = require('./history');

// What a plan reads: its scan nodes, with the index each uses.
function scans(plan) {
  const found = [];
  const walk = (node) => {
    if (/Scan/.test(node['Node Type'])) found.push(node['Index Name'] ? `${node['Node Type']} ${node['Index Name']}` : node['Node Type']);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan);
  return [...new Set(found)].join(', ');
}

// `call` timed 5 times after one untimed run (it warms the plan cache and the buffers): the p50 in
// ms (2 decimals), the last result, and the statement the untimed run sent last.
async function p50Of(call) {
  await call();
  const sent = counting.last;
  const times = [];
  let result;
  for (let k = 0; k < 5; k++) {
    const start = performance.now();
    result = await call();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { ms: Math.round(percentile(times, 50) * 100) / 100, result, sent };
}

async function timeCall(probe, name, call) {
  const { ms, result, sent } = await p50Of(call);
  const { text, values } = sent;
  let plan;
  try {
    const explained = await probe.query(`EXPLAIN (FORMAT JSON) ${text}`, values);
    plan = scans(explained.rows[0]['QUERY PLAN'][0].Plan);
  } catch (err) {
    plan = `(no plan: ${err.message})`;
  }
  return {
    call: name,
    ms,
    rows: Array.isArray(result) ? result.length : (result?.workflows?.length ?? null),
    plan,
  };
}

// The dashboard's API routes over HTTP (the page's own requests), p50 of 5 after one untimed.
async function timeDashboard(openDashboard, base, rows) {
  const { baseUrl, close } = await openDashboard();
  try {
    const get = async (route) => {
      const response = await fetch(`${baseUrl}${route}`);
      if (!response.ok) throw new Error(`GET ${route}: ${response.status} ${await response.text()}`);
      return response.json();
    };
    const first = await get('/workflows?status=SUCCESS&limit=50');
    let cursor = first.nextCursor;
    for (let k = 0; k < 20 && cursor; k++) cursor = (await get(`/workflows?status=SUCCESS&limit=50&cursor=${encodeURIComponent(cursor)}`)).nextCursor;
    const routes = [
      ['GET /workflows (newest 50)', '/workflows?limit=50'],
      ['GET /workflows?status=ERROR', '/workflows?status=ERROR&limit=50'],
      ['GET /workflows?name=wf3', '/workflows?name=wf3&limit=50'],
      ['GET /workflows?status=SUCCESS, 21st page (cursor)', `/workflows?status=SUCCESS&limit=50&cursor=${encodeURIComponent(cursor ?? '')}`],
      ['GET /workflows (1-day range)', `/workflows?limit=50&from=${base + 10 * DAY}&to=${base + 11 * DAY}`],
      ['GET /workflows?queue=q4', '/workflows?queue=q4&limit=50'],
      ['GET /workflows?executor=exec-3', '/workflows?executor=exec-3&limit=50'],
      ['GET /workflows?version=v1', '/workflows?version=v1&limit=50'],
      ['GET /workflows?idPrefix=...', `/workflows?idPrefix=${`hist-${String(Math.floor(rows / 2)).padStart(8, '0')}`.slice(0, 10)}&limit=50`],
      ['GET /workflows?attr=tenant (0.1%)', `/workflows?attr=${encodeURIComponent('tenant=t42')}&limit=50`],
      ['GET /workflows?attr=tenant,region', `/workflows?attr=${encodeURIComponent('tenant=t42,region=r2')}&limit=50`],
      ['GET /workflows/:id', `/workflows/hist-00000500`],
      ['GET /queues', '/queues'],
      ['GET /executors', '/executors'],
      ['GET /overview', '/overview'],
    ];
    const timed = [];
    for (const [call, route] of routes) timed.push({ call, ms: (await p50Of(() => get(route))).ms });
    return timed;
  } finally {
    await close();
  }
}

// The throughput of `m` workflows, median of three runs, each after a CHECKPOINT: what a fill or
// a previous run left dirty is written out first, so the runs compare the tables, not how much
// of the last minute's writes the server was still flushing.
async function steadyThroughput(probe, runOne, m, inflight, firstInput) {
  const runs = [];
  for (let k = 0; k < 3; k++) {
    await checkpoint(probe);
    runs.push(await runWorkload(runOne, m, inflight, firstInput + k * m));
  }
  runs.sort((a, b) => a.workflowsPerSec - b.workflowsPerSec);
  return runs[1];
}

let checkpointRefused = false;

async function checkpoint(probe) {
  if (checkpointRefused) return;
  try {
    await probe.query('CHECKPOINT');
  } catch (err) {
    // Not a superuser (nor pg_checkpoint): measured without it.
    console.error(`[scale] no CHECKPOINT before the measurements: ${err.message}`);
    checkpointRefused = true;
  }
}

async function measureScale(system, ctx, options) {
  const { client, runOne } = ctx;
  const rows = options.scaleRows;
  const probe = counting.uncounted(new Client({ connectionString: ctx.url }));
  await probe.connect();
  try {
    const m = options.scaleWorkflows;
    await runWorkload(runOne, options.warmup, options.inflight, 0);
    const empty = await steadyThroughput(probe, runOne, m, options.inflight, 10_000_000);
    const now = Date.now();
    const base = now - 31 * DAY;
    const fillStart = performance.now();
    await fillHistory(probe, rows, { base, label: 'scale' });
    const fillSec = (performance.now() - fillStart) / 1000;
    const full = await steadyThroughput(probe, runOne, m, options.inflight, 11_000_000);
    const id = (g) => `hist-${String(g).padStart(8, '0')}`;
    const page = { limit: 50, sortDesc: true };
    const calls = [
      ['list() newest 50', () => client.list(page)],
      ['list status ERROR', () => client.list({ ...page, status: 'ERROR' })],
      ['list workflowName', () => client.list({ ...page, workflowName: 'wf3' })],
      ['list queue', () => client.list({ ...page, queue: 'q4' })],
      ['list executorId', () => client.list({ ...page, executorId: 'exec-3' })],
      ['list applicationVersion', () => client.list({ ...page, applicationVersion: 'v1' })],
      ['list parentWorkflowId', () => client.list({ ...page, parentWorkflowId: id(Math.floor(rows / 2) * 1 - (Math.floor(rows / 2) % 10)) })],
      ['list forkedFrom', () => client.list({ ...page, forkedFrom: id(1000) })],
      ['list workflowIdPrefix', () => client.list({ ...page, workflowIdPrefix: id(Math.floor(rows / 2)).slice(0, 10) })],
      ['list created 1-day range', () => client.list({ ...page, createdAfter: new Date(base + 10 * DAY), createdBefore: new Date(base + 11 * DAY) })],
      ['list status SUCCESS', () => client.list({ ...page, status: 'SUCCESS' })],
      ['list status ERROR, oldest', () => client.list({ limit: 50, status: 'ERROR' })],
      ['list updated 1-day range', () => client.list({ ...page, updatedAfter: new Date(base + 20 * DAY), updatedBefore: new Date(base + 21 * DAY) })],
      ['list updated 1-day range, oldest', () => client.list({ limit: 50, updatedAfter: new Date(base + 20 * DAY), updatedBefore: new Date(base + 21 * DAY) })],
      ['list updatedAfter (last hour), oldest', () => client.list({ limit: 50, updatedAfter: new Date(now - 3_600_000) })],
      [
        'list updated range + status ERROR',
        () => client.list({ ...page, status: 'ERROR', updatedAfter: new Date(base + 20 * DAY), updatedBefore: new Date(base + 21 * DAY) }),
      ],
      [
        'list updated range + executorId',
        () => client.list({ ...page, executorId: 'exec-3', updatedAfter: new Date(base + 20 * DAY), updatedBefore: new Date(base + 21 * DAY) }),
      ],
      ['list status ERROR + name, oldest', () => client.list({ limit: 50, status: 'ERROR', workflowName: 'wf0' })],
      ['list status ERROR + name, none match', () => client.list({ limit: 50, status: 'ERROR', workflowName: 'wf10' })],
      ['list attribute tenant (0.1%)', () => client.list({ ...page, attributes: { tenant: 't42' } })],
      ['list attributes tenant + region', () => client.list({ ...page, attributes: { tenant: 't42', region: 'r2' } })],
      ['list attribute orderId (1 row)', () => client.list({ ...page, attributes: { orderId: `o-${Math.floor(rows / 2)}` } })],
      ['list attribute region (25%)', () => client.list({ ...page, attributes: { region: 'r1' } })],
      ['list attribute, none match', () => client.list({ ...page, attributes: { tenant: 'nobody' } })],
      ['list OFFSET 100000', () => client.list({ ...page, offset: Math.min(100_000, Math.floor(rows / 2)) })],
      ['listSteps', () => client.listSteps(id(Math.floor(rows / 3)))],
      ['queueStats', () => client.queueStats()],
    ];
    if (typeof client.listPage === 'function') {
      const first = await client.listPage({ ...page, status: 'SUCCESS' });
      let cursor = first.nextCursor;
      for (let k = 0; k < 20 && cursor; k++) cursor = (await client.listPage({ ...page, status: 'SUCCESS', cursor })).nextCursor;
      calls.push(['listPage SUCCESS, 21st page (cursor)', () => client.listPage({ ...page, status: 'SUCCESS', cursor })]);
    }
    const management = [];
    for (const [name, call] of calls) management.push(await timeCall(probe, name, call));
    const dashboard = ctx.openDashboard ? await timeDashboard(ctx.openDashboard, base, rows) : undefined;

    // Retention under load: the same workload while half the history is deleted.
    const before = await steadyThroughput(probe, runOne, m, options.inflight, 12_000_000);
    const doomed = Math.floor(rows / 2);
    const cutoff = new Date(base + Math.floor((doomed * 30 * DAY) / rows));
    let deleting = true;
    await checkpoint(probe);
    const delStart = performance.now();
    const deletion = client.deleteOlderThan(cutoff).finally(() => (deleting = false));
    // The same load, kept at the same number in flight for as long as the deletion runs.
    const during = await runWhile(runOne, options.inflight, 13_000_000, () => deleting);
    const deleted = await deletion;
    const deleteSec = (performance.now() - delStart) / 1000;
    const duringRate = during.workflowsPerSec;
    return [
      {
        workload: 'scale',
        system,
        rowsFilled: rows,
        fillSec: Math.round(fillSec),
        emptyWorkflowsPerSec: empty.workflowsPerSec,
        workflowsPerSec: full.workflowsPerSec,
        p50Ms: full.p50Ms,
        p99Ms: full.p99Ms,
        statementsPerOp: full.statementsPerOp,
        commitsPerOp: full.commitsPerOp,
        management,
        dashboard,
        retention: {
          deleted,
          deleteSec: Math.round(deleteSec * 10) / 10,
          beforeWorkflowsPerSec: before.workflowsPerSec,
          duringWorkflowsPerSec: Math.round(duringRate * 10) / 10,
        },
      },
    ];
  } finally {
    await probe.end();
  }
}

module.exports = { measureScale };
