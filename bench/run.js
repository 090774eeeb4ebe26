#!/usr/bin/env node
'use strict';
// Benchmarks nestjs-dbos against DBOS Transact (and, for the queue workloads, pg-boss and
// graphile-worker, plain and tuned) on one Postgres server, and prints a table per workload.
//
//   npm run bench [-- --workloads sequential,concurrent,messaging,queue] [--only SYSTEM[,SYSTEM]]
//                 [--json FILE] [--sequential N] [--concurrent N] [--inflight N] [--warmup N] [--warmup-seconds S]
//                 [--messages N] [--queue-jobs N] [--queue-concurrency N] [--dbos-queue-poll-ms N]
//                 ... (see usage() below; `--workloads footprint` is only run when asked for)
//
// Each system runs in its own child process (no shared event loop or GC), one after the
// other, on its own freshly created database. sequential and concurrent share one child per
// system; messaging and queue get a child (and a fresh database) each.
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { spawn, spawnSync } = require('node:child_process');
const { parseArgs } = require('node:util');
const { RESULT_PREFIX } = require('./harness');

const BENCH_DIR = __dirname;
const ROOT = path.resolve(BENCH_DIR, '..');
// BENCH_CHILD_TIMEOUT_MS raises it on a machine shared with other work (each child is killed after it).
const CHILD_TIMEOUT_MS = Number(process.env.BENCH_CHILD_TIMEOUT_MS) || 4 * 60_000;

const WORKLOADS = ['sequential', 'concurrent', 'messaging', 'queue', 'queue-latency', 'recovery', 'scale', 'fanout', 'footprint', 'instances'];
// What runs without --workloads: footprint (about two minutes: a tsc build of lib/, six short
// processes and an idle window that starts 31 s after one of them started) and instances (up to
// 16 processes per run, about 40 s per N) are asked for by name.
const OPT_IN = ['footprint', 'instances'];
const DEFAULT_WORKLOADS = WORKLOADS.filter((w) => !OPT_IN.includes(w));
const QUEUES = ['queue', 'queue-latency'];

// What each workload's table says about its numbers.
const DESCRIPTIONS = {
  sequential: 'one 3-step workflow at a time; latency = call to result',
  concurrent: '3-step workflows, {inflight} in flight; latency = call to result',
  messaging: 'send(id, i) then getEvent(id, key_i) to one looping workflow; latency = round trip, rate = round trips/s',
  queue:
    '{queueJobs} enqueued, drained {queueConcurrency} at a time; rate = first enqueue to last finish; ' +
    'latency = enqueue -> start of the body (pg-boss, graphile-worker, graphile-worker-tuned: bare no-op jobs)',
  'queue-latency':
    '{queueLatencyJobs} jobs one at a time, each enqueued on an idle queue ({queueLatencyIdleMs} ms after the previous finished); ' +
    'latency = enqueue -> start of the body',
  recovery:
    '{recoveryWorkflows} workflows PENDING (1 of 3 steps done) after a SIGKILL; restart = same executor id, from its launch call; ' +
    "takeover = 2 live executors, from the dead one's lease ({recoveryLeaseMs} ms) expiring; " +
    'history rows = finished workflows (3 steps each) filled and analysed before the N started',
  scale: '{scaleRows} finished workflows (3 steps each) filled with generate_series; then {scaleWorkflows} workflows, {inflight} in flight',
  fanout:
    'one parent workflow starts {fanoutChildren} child workflows (one no-op step each) on a queue of concurrency {fanoutConcurrency} ' +
    'and awaits all their results; rate = children / parent wall time (call of the parent to its result); ' +
    'starts: concurrent = all started at once (Promise.all), sequential = each start awaited in turn',
  footprint:
    'an idle Nest application context, bare and with DbosModule (a queue, one workflow of 2 steps), the library compiled to JavaScript; ' +
    'memory after start-up, 50 workflow calls (DbosModule only), gc() and 5 s idle, median of {footprintRuns} fresh processes each; ' +
    'statements sent over {footprintWindowSec} s idle',
  instances:
    'N processes (executor ids of their own) on one database, each with {instancesInflight} 3-step workflows in flight, all started ' +
    'together after a warm-up, for {instancesSeconds} s; latency = call to result over all processes; xact_commit/s = ' +
    "the slope of pg_stat_database's commits of the bench database from 2 s after the go to the end (it also counts the " +
    'transaction in which each LISTEN backend reads the notifications that woke it, which no client sends)',
};

const SYSTEMS = {
  'nestjs-dbos': {
    database: 'bench_nestjs_dbos',
    workloads: WORKLOADS,
    // Takeover: the dead executor's heartbeat + lease, in ms from now on the database clock.
    leaseExpirySql: `SELECT heartbeat_at + $2::bigint - (extract(epoch from clock_timestamp()) * 1000)::bigint AS ms
                       FROM dbos.executors WHERE executor_id = $1`,
    // Run from the repo root so the TypeScript library in lib/ is imported as source.
    argv: ['-r', './bench/transpile.js', 'bench/systems/nestjs-dbos.ts'],
    // The recovery workload's --history-rows: finished workflows in its own tables.
    fillsHistory: true,
  },
  'dbos-transact': {
    database: 'bench_dbos_transact',
    workloads: ['sequential', 'concurrent', 'messaging', 'queue', 'queue-latency', 'recovery', 'fanout'],
    recoveryVariants: ['restart'],
    argv: ['bench/systems/dbos-transact.js'],
  },
  'pg-boss': {
    database: 'bench_pg_boss',
    workloads: QUEUES,
    argv: ['bench/systems/pg-boss.js'],
  },
  'graphile-worker': {
    database: 'bench_graphile_worker',
    workloads: QUEUES,
    argv: ['bench/systems/graphile-worker.js'],
  },
  // The same jobs with the batching of graphile-worker's performance page
  // (https://worker.graphile.org/docs/performance): localQueue 500, completeJobBatchDelay 0,
  // failJobBatchDelay 0.
  'graphile-worker-tuned': {
    database: 'bench_graphile_worker_tuned',
    workloads: QUEUES,
    argv: ['bench/systems/graphile-worker.js', '--tuned'],
  },
};

// Workloads that share a child process (and its warm-up).
const GROUPS = [['sequential', 'concurrent'], ['messaging'], ['queue'], ['queue-latency'], ['scale'], ['fanout']];

const REFERENCE = 'dbos-transact';
const OURS = 'nestjs-dbos';

function usage(message) {
  console.error(`${message}
usage: npm run bench -- [--workloads ${WORKLOADS.join(',')}] [--only SYSTEM[,SYSTEM...]] [--json FILE]
                        [--sequential N] [--concurrent N] [--inflight N] [--warmup N] [--warmup-seconds S] [--messages N]
                        [--queue-jobs N] [--queue-concurrency N] [--dbos-queue-poll-ms N]
                        [--queue-latency-jobs N] [--queue-latency-idle-ms N] [--recovery-workflows N]
                        [--recovery-lease-ms N] [--history-rows N[,N...]] [--scale-rows N] [--scale-workflows N]
                        [--footprint-window-s N] [--footprint-runs N] [--fanout-children N[,N...]] [--fanout-concurrency N]
                        [--fanout-starts concurrent,sequential] [--instances N[,N...]] [--instances-inflight N]
                        [--instances-seconds N] [--instances-pooler direct,transaction] [--instances-pool-size N]
                        [--instances-bouncer-pool N]
without --workloads: ${DEFAULT_WORKLOADS.join(',')}
systems: ${Object.keys(SYSTEMS).join(', ')}`);
  process.exit(2);
}

function count(text, name) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) usage(`--${name} needs a whole number, got "${text}"`);
  return n;
}

function list(text, known, name) {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) if (!known.includes(item)) usage(`unknown ${name} "${item}"`);
  if (items.length === 0) usage(`--${name}s needs at least one name`);
  return items;
}

function readOptions() {
  let values;
  try {
    values = parseArgs({
      options: {
        json: { type: 'string' },
        only: { type: 'string' },
        workloads: { type: 'string', default: DEFAULT_WORKLOADS.join(',') },
        sequential: { type: 'string', default: '1000' },
        concurrent: { type: 'string', default: '5000' },
        inflight: { type: 'string', default: '64' },
        warmup: { type: 'string', default: '50' },
        'warmup-seconds': { type: 'string', default: '3' },
        messages: { type: 'string', default: '300' },
        'queue-jobs': { type: 'string', default: '5000' },
        'queue-concurrency': { type: 'string', default: '64' },
        'dbos-queue-poll-ms': { type: 'string', default: '20' },
        'queue-latency-jobs': { type: 'string', default: '200' },
        'queue-latency-idle-ms': { type: 'string', default: '50' },
        'recovery-workflows': { type: 'string', default: '10000' },
        'recovery-lease-ms': { type: 'string', default: '5000' },
        'history-rows': { type: 'string', default: '0' },
        'scale-rows': { type: 'string', default: '1000000' },
        'scale-workflows': { type: 'string', default: '3000' },
        'footprint-window-s': { type: 'string', default: '30' },
        'footprint-runs': { type: 'string', default: '3' },
        'fanout-children': { type: 'string', default: '1000' },
        'fanout-concurrency': { type: 'string', default: '50' },
        'fanout-starts': { type: 'string', default: 'concurrent,sequential' },
        instances: { type: 'string', default: '1,4,8,16' },
        'instances-inflight': { type: 'string', default: '16' },
        'instances-seconds': { type: 'string', default: '10' },
        'instances-pooler': { type: 'string', default: 'direct' },
        'instances-pool-size': { type: 'string', default: '10' },
        'instances-bouncer-pool': { type: 'string', default: '20' },
      },
    }).values;
  } catch (err) {
    usage(err.message);
  }
  const inflight = count(values.inflight, 'inflight');
  if (inflight < 1) usage('--inflight must be at least 1');
  const queueConcurrency = count(values['queue-concurrency'], 'queue-concurrency');
  if (queueConcurrency < 1) usage('--queue-concurrency must be at least 1');
  const dbosQueuePollMs = count(values['dbos-queue-poll-ms'], 'dbos-queue-poll-ms');
  if (dbosQueuePollMs < 1) usage('--dbos-queue-poll-ms must be at least 1');
  const messages = count(values.messages, 'messages');
  const queueJobs = count(values['queue-jobs'], 'queue-jobs');
  if (messages < 1) usage('--messages must be at least 1');
  if (queueJobs < 1) usage('--queue-jobs must be at least 1');
  return {
    json: values.json,
    systems: values.only ? list(values.only, Object.keys(SYSTEMS), 'system') : Object.keys(SYSTEMS),
    workloads: list(values.workloads, WORKLOADS, 'workload'),
    settings: {
      sequential: count(values.sequential, 'sequential'),
      concurrent: count(values.concurrent, 'concurrent'),
      inflight,
      warmup: count(values.warmup, 'warmup'),
      warmupSeconds: count(values['warmup-seconds'], 'warmup-seconds'),
      messages,
      queueJobs,
      queueConcurrency,
      queueTimeoutMs: 150_000,
      dbosQueuePollMs,
      queueLatencyJobs: Math.max(1, count(values['queue-latency-jobs'], 'queue-latency-jobs')),
      queueLatencyIdleMs: count(values['queue-latency-idle-ms'], 'queue-latency-idle-ms'),
      recoveryWorkflows: Math.max(1, count(values['recovery-workflows'], 'recovery-workflows')),
      recoveryLeaseMs: Math.max(500, count(values['recovery-lease-ms'], 'recovery-lease-ms')),
      historyRows: values['history-rows'].split(',').map((v) => count(v.trim(), 'history-rows')),
      scaleRows: Math.max(1000, count(values['scale-rows'], 'scale-rows')),
      scaleWorkflows: Math.max(100, count(values['scale-workflows'], 'scale-workflows')),
      footprintWindowSec: Math.max(1, count(values['footprint-window-s'], 'footprint-window-s')),
      footprintRuns: Math.max(1, count(values['footprint-runs'], 'footprint-runs')),
      fanoutChildren: values['fanout-children'].split(',').map((v) => Math.max(1, count(v.trim(), 'fanout-children'))),
      fanoutConcurrency: Math.max(1, count(values['fanout-concurrency'], 'fanout-concurrency')),
      fanoutStarts: list(values['fanout-starts'], ['concurrent', 'sequential'], 'fanout-start'),
      instances: values.instances.split(',').map((v) => Math.max(1, count(v.trim(), 'instances'))),
      instancesInflight: Math.max(1, count(values['instances-inflight'], 'instances-inflight')),
      instancesSeconds: Math.max(1, count(values['instances-seconds'], 'instances-seconds')),
      instancesPooler: list(values['instances-pooler'], ['direct', 'transaction'], 'instances-pooler'),
      instancesPoolSize: Math.max(1, count(values['instances-pool-size'], 'instances-pool-size')),
      instancesBouncerPool: Math.max(1, count(values['instances-bouncer-pool'], 'instances-bouncer-pool')),
    },
  };
}

// The benchmark's own dependencies (the DBOS SDK, pg-boss, graphile-worker) live in bench/ so
// the library never depends on them; a fresh checkout installs them on first use.
function ensureBenchDependencies(systems) {
  const needed = {
    'dbos-transact': '@dbos-inc/dbos-sdk',
    'pg-boss': 'pg-boss',
    'graphile-worker': 'graphile-worker',
    'graphile-worker-tuned': 'graphile-worker',
  };
  const missing = systems.filter((s) => needed[s] && !fs.existsSync(path.join(BENCH_DIR, 'node_modules', needed[s])));
  if (missing.length === 0) return;
  console.error('installing benchmark dependencies in bench/ ...');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: BENCH_DIR, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm ci in bench/ failed');
}

// BENCH_NODE_ARGS: flags for node in every system's child (profiling: `--cpu-prof --cpu-prof-dir=DIR`).
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);

// Runs one system's child process for some workloads and returns the rows it reports. Its
// other stdout goes to stderr so that the tables stay the only thing on stdout.
function runChild(name, databaseUrl, settings, workloads) {
  const child = spawn(process.execPath, [...NODE_ARGS, ...SYSTEMS[name].argv], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // Also as DATABASE_URL, in case a system reads it on its own: it must see its own database.
      DATABASE_URL: databaseUrl,
      BENCH_DATABASE_URL: databaseUrl,
      BENCH_OPTIONS: JSON.stringify({ ...settings, workloads }),
    },
  });
  // scale fills and then deletes its history: 4 more minutes per million rows beyond the first.
  // fanout: 25 ms more per child of each parent run (DBOS Transact's 10,000 awaited one by one take minutes).
  const fanoutMs = workloads.includes('fanout') ? settings.fanoutChildren.reduce((a, b) => a + b, 0) * settings.fanoutStarts.length * 25 : 0;
  const limitMs = CHILD_TIMEOUT_MS + fanoutMs + (workloads.includes('scale') ? Math.max(0, settings.scaleRows / 1e6 - 1) * 4 * 60_000 : 0);
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  let rows = null;
  let lastError = '';
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith(RESULT_PREFIX)) rows = JSON.parse(line.slice(RESULT_PREFIX.length));
    else process.stderr.write(`[${name}] ${line}\n`);
  });
  readline.createInterface({ input: child.stderr }).on('line', (raw) => {
    process.stderr.write(`${raw}\n`);
    // eslint-disable-next-line no-control-regex -- ANSI colour codes
    const line = raw.replace(/\x1b\[[0-9;]*m/g, ''); // without colours, for the notes
    // Remember the failure's first line, to say why in the table's notes.
    if (/benchmark failed/.test(line)) lastError = line.replace(/^.*benchmark failed:\s*/, '');
    else if (lastError === '' && /Error/.test(line)) lastError = line.trim();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (rows) resolve(rows);
      else {
        const how = signal === 'SIGKILL' ? `killed after ${limitMs / 1000} s` : `exit ${signal ?? code}`;
        reject(new Error(`${how}${lastError ? `: ${lastError}` : ''}`));
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Output.

const fixed = (value, digits) => (value === null || value === undefined ? '-' : value.toFixed(digits));
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}x` : '-');

function formatTable(header, lines) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  // The system column left-aligned, numbers right-aligned.
  const format = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [format(header), ...lines.map(format)];
}

function describe(workload, settings) {
  return DESCRIPTIONS[workload].replace(/\{(\w+)\}/g, (_, key) => String(settings[key]));
}

const perOp = (r) => [fixed(r.statementsPerOp, 1), fixed(r.commitsPerOp, 1)];
/** The client process's CPU per operation (bench/counting.js). */
const cpuCell = (r) => fixed(r.cpuUsPerOp, 0);

function printRecovery(rows, settings) {
  console.log(`\n== recovery: ${describe('recovery', settings)}`);
  const header = [
    'system',
    'variant',
    'history rows',
    'all running s',
    'all done s',
    'done vs no history',
    'running vs dbos-transact',
    'spread',
    'stmts/wf',
    'commits/wf',
  ];
  const reference = rows.find((r) => r.system === REFERENCE && r.variant === 'restart' && !r.unavailable);
  // The same system and variant on empty tables: how much the history costs.
  const empty = (r) => rows.find((e) => e.system === r.system && e.variant === r.variant && !e.historyRows && !e.unavailable);
  const lines = rows.map((r) =>
    r.unavailable
      ? [r.system, r.variant ?? '-', String(r.historyRows ?? 0), 'UNAVAILABLE', '-', '-', '-', '-', '-', '-']
      : [
          r.system,
          r.variant,
          String(r.historyRows ?? 0),
          fixed(r.runningSec, 2),
          fixed(r.doneSec, 2),
          r.historyRows ? ratio(r.doneSec, empty(r)?.doneSec) : '-',
          r.variant === 'restart' && !r.historyRows ? ratio(r.runningSec, reference?.runningSec) : '-',
          r.spread ? r.spread.join('/') : '-',
          ...perOp(r),
        ],
  );
  for (const line of formatTable(header, lines)) console.log(line);
  if (!rows.some((r) => r.system === REFERENCE && r.variant === 'takeover')) {
    console.log(`${REFERENCE} takeover: not run (the open-source library recovers only its own executor's workflows; takeover is DBOS Conductor's)`);
  }
  for (const r of rows)
    if (r.unavailable) console.log(`UNAVAILABLE ${r.system} recovery ${r.variant ?? ''} (${r.historyRows ?? 0} history rows): ${r.unavailable}`);
}

function printScale(rows, settings) {
  console.log(`\n== scale: ${describe('scale', settings)}`);
  for (const r of rows) {
    if (r.unavailable) {
      console.log(`UNAVAILABLE ${r.system} scale: ${r.unavailable}`);
      continue;
    }
    console.log(`${r.system}: filled ${r.rowsFilled} rows in ${r.fillSec} s`);
    console.log(
      `  throughput: ${fixed(r.emptyWorkflowsPerSec, 1)} wf/s on empty tables, ${fixed(r.workflowsPerSec, 1)} wf/s with the history ` +
        `(${ratio(r.workflowsPerSec, r.emptyWorkflowsPerSec)}), p50 ${fixed(r.p50Ms, 2)} ms; ${fixed(r.statementsPerOp, 1)} statements, ` +
        `${fixed(r.commitsPerOp, 1)} commits per workflow`,
    );
    const lines = r.management.map((m) => [m.call, fixed(m.ms, 2), String(m.rows ?? '-'), m.plan]);
    for (const line of formatTable(['call', 'p50 ms', 'rows', 'plan (scans)'], lines)) console.log(`  ${line}`);
    if (r.dashboard) {
      console.log('  the dashboard API over HTTP (DbosDashboardModule in an app on the same database):');
      for (const line of formatTable(
        ['route', 'p50 ms'],
        r.dashboard.map((d) => [d.call, fixed(d.ms, 2)]),
      ))
        console.log(`  ${line}`);
    }
    const t = r.retention;
    console.log(
      `  retention: deleteOlderThan removed ${t.deleted} in ${t.deleteSec} s; throughput ${t.beforeWorkflowsPerSec} wf/s before, ` +
        `${t.duringWorkflowsPerSec} wf/s while deleting (${ratio(t.duringWorkflowsPerSec, t.beforeWorkflowsPerSec)})`,
    );
  }
}

const MIB = 1024 * 1024;
const mib = (bytes, signed = false) => (bytes === null || bytes === undefined ? '-' : `${signed && bytes >= 0 ? '+' : ''}${(bytes / MIB).toFixed(1)}`);

function printFootprint(rows, settings) {
  console.log(`\n== footprint: ${describe('footprint', settings)}`);
  for (const r of rows) if (r.unavailable) console.log(`UNAVAILABLE ${r.system} footprint: ${r.unavailable}`);
  const bare = rows.find((r) => r.variant === 'bare');
  const dbos = rows.find((r) => r.variant === 'dbos');
  const difference = rows.find((r) => r.variant === 'difference');
  if (!bare || !dbos || !difference) return;
  const range = (r) => (r.rssRunsBytes ? `${mib(Math.min(...r.rssRunsBytes))}-${mib(Math.max(...r.rssRunsBytes))}` : '-');
  const header = [
    'app',
    'rss MiB',
    'rss range',
    'rss anon MiB',
    'heapUsed MiB',
    'heapTotal MiB',
    'packages',
    'start-up ms',
    'idle stmts/s',
    'idle commits/s',
    'xact_commit/s',
  ];
  const memory = (r, signed) => [
    mib(r.rssBytes, signed),
    signed ? '-' : range(r),
    mib(r.rssAnonBytes, signed),
    mib(r.heapUsedBytes, signed),
    mib(r.heapTotalBytes, signed),
  ];
  const lines = [
    ['bare Nest context', ...memory(bare), String(bare.packages), String(bare.startupMs), '-', '-', '-'],
    [
      'with DbosModule',
      ...memory(dbos),
      String(dbos.packages),
      String(dbos.startupMs),
      fixed(dbos.idleStatementsPerSec, 2),
      fixed(dbos.idleCommitsPerSec, 2),
      fixed(dbos.idleXactCommitPerSec, 2),
    ],
    ["DbosModule's cost", ...memory(difference, true), `+${difference.packages}`, '-', '-', '-', '-'],
  ];
  for (const line of formatTable(header, lines)) console.log(line);
  console.log(`packages loaded only with DbosModule: ${dbos.extraPackages.join(', ') || 'none'}`);
  console.log(`rss of the DbosModule app after the idle window: ${mib(dbos.rssAfterIdleBytes)} MiB`);
  console.log(
    `statements of the idle DbosModule app over ${dbos.idleWindowSec} s (${dbos.idleStatements}, counted in the client; ` +
      `xact_commit/s is pg_stat_database's count for its database), by their first 60 characters:`,
  );
  const textLines = dbos.idleStatementTexts.map((t) => [t.text, String(t.count), (t.count / dbos.idleWindowSec).toFixed(2)]);
  for (const line of formatTable(['statement', 'count', 'per s'], textLines)) console.log(`  ${line}`);
}

function printFanout(rows, settings) {
  console.log(`\n== fanout: ${describe('fanout', settings)}`);
  const header = ['system', 'starts', 'children', 'children/s', 'parent s', `children/s vs ${REFERENCE}`, 'stmts/child', 'commits/child'];
  const reference = (r) => rows.find((e) => e.system === REFERENCE && e.starts === r.starts && e.children === r.children && !e.unavailable);
  const order = (r) => (r.unavailable ? '~' : `${r.starts}:${String(r.children).padStart(9, '0')}`);
  const lines = [...rows]
    .sort((a, b) => order(a).localeCompare(order(b)))
    .map((r) =>
      r.unavailable
        ? [r.system, '-', '-', 'UNAVAILABLE', '-', '-', '-', '-']
        : [
            r.system,
            r.starts,
            String(r.children),
            fixed(r.workflowsPerSec, 1),
            fixed(r.parentSec, 2),
            ratio(r.workflowsPerSec, reference(r)?.workflowsPerSec),
            ...perOp(r),
          ],
    );
  for (const line of formatTable(header, lines)) console.log(line);
  for (const r of rows) if (r.unavailable) console.log(`UNAVAILABLE ${r.system} fanout: ${r.unavailable}`);
}

function printInstances(rows, settings) {
  console.log(`\n== instances: ${describe('instances', settings)}`);
  const header = [
    'connection',
    'instances',
    'pool/proc',
    'wf/s',
    'vs fewest',
    'wf/s per proc (min-max)',
    'p50 ms',
    'p99 ms',
    'stmts/op',
    'commits/op',
    'client commits/s',
    'xact_commit/s',
    'server conns peak',
    'busy peak',
  ];
  const connection = (r) => (r.pooler === 'transaction' ? 'PgBouncer' : 'direct');
  const fewest = (r) => rows.filter((e) => e.pooler === r.pooler && !e.unavailable).sort((a, b) => a.instances - b.instances)[0];
  const lines = rows.map((r) =>
    r.unavailable
      ? [connection(r), String(r.instances), String(r.poolSize ?? '-'), 'UNAVAILABLE', ...Array(10).fill('-')]
      : [
          connection(r),
          String(r.instances),
          String(r.poolSize),
          fixed(r.workflowsPerSec, 1),
          ratio(r.workflowsPerSec, fewest(r)?.workflowsPerSec),
          `${fixed(r.perInstanceWorkflowsPerSec.min, 1)}-${fixed(r.perInstanceWorkflowsPerSec.max, 1)}`,
          fixed(r.p50Ms, 2),
          fixed(r.p99Ms, 2),
          ...perOp(r),
          fixed(r.clientCommitsPerSec, 1),
          fixed(r.xactCommitPerSec, 1),
          String(r.serverConnectionsPeak),
          String(r.busyConnectionsPeak),
        ],
  );
  for (const line of formatTable(header, lines)) console.log(line);
  for (const mode of settings.instancesPooler) {
    const r = rows.find((e) => e.pooler === mode && e.maxConnections);
    if (!r) continue;
    const lowered = r.poolSize < r.requestedPoolSize ? ` (lowered from --instances-pool-size ${r.requestedPoolSize} to fit the server)` : '';
    const bouncerLowered = r.bouncerPool < r.requestedBouncerPool ? ` (lowered from --instances-bouncer-pool ${r.requestedBouncerPool})` : '';
    const bouncer = r.bouncerPool ? `transaction mode, default_pool_size ${r.bouncerPool}${bouncerLowered}, LISTEN past it; ` : '';
    console.log(
      `${connection(r)}: ${bouncer}pool ${r.poolSize} per process${lowered}; max_connections ${r.maxConnections}, open connections at the start ${r.connectionsInUse}`,
    );
  }
  for (const r of rows) {
    const direct = rows.find((e) => e.pooler === 'direct' && e.instances === r.instances && !e.unavailable);
    if (r.pooler !== 'transaction' || r.unavailable || !direct) continue;
    console.log(
      `PgBouncer vs direct, ${r.instances} instances: throughput ${ratio(r.workflowsPerSec, direct.workflowsPerSec)}, p50 ${ratio(r.p50Ms, direct.p50Ms)}, ` +
        `server connections ${r.serverConnectionsPeak} vs ${direct.serverConnectionsPeak}`,
    );
  }
  for (const r of rows) if (r.unavailable) console.log(`UNAVAILABLE ${r.system} instances ${r.instances} (${r.pooler}): ${r.unavailable}`);
}

// The server's commit floor, measured at the start of the run (bench/commit-floor.js).
let commitFloor;
// Workloads that make their commits one after another: their latency floor is commits/op x one commit.
const CHAINED = ['sequential', 'messaging'];

/** The floor columns of a workload's table: latency against commits in a row, or rate against the server's commit rate. */
function floorColumns(workload) {
  if (!commitFloor) return { header: [], cells: () => [] };
  if (CHAINED.includes(workload)) {
    // The commit measured next to the workload by its own process (harness.js withAdjacentFloor), else the run's.
    const floorMs = (r) => (r.commitsPerOp == null ? null : r.commitsPerOp * (r.floorP50Ms ?? commitFloor.commitP50Ms));
    return {
      header: ['commit ms', 'floor ms', 'p50 vs floor'],
      cells: (r) => [fixed(r.floorP50Ms ?? commitFloor.commitP50Ms, 3), fixed(floorMs(r), 2), ratio(r.p50Ms, floorMs(r))],
    };
  }
  if (workload === 'concurrent') {
    return { header: [`vs ${commitFloor.manyClients}-client commits/s`], cells: (r) => [ratio(r.workflowsPerSec, commitFloor.commitsPerSecManyClients)] };
  }
  return { header: [], cells: () => [] };
}

function describeFloor(workload) {
  const f = commitFloor;
  const measured =
    `commit floor, this run: one single-row INSERT committed, ${fixed(f.commitP50Ms, 3)} ms p50 (p99 ${fixed(f.commitP99Ms, 3)}) ` +
    `at 1 client, ${fixed(f.commitsPerSecManyClients, 0)} commits/s at ${f.manyClients} clients`;
  return CHAINED.includes(workload)
    ? `${measured}; commit ms = a one-client single-row commit (p50) measured by each system's process in its database right before and after this workload (the mean of the two); ` +
        `floor ms = commits/op x commit ms (the commits a ${workload === 'messaging' ? 'round trip' : 'workflow'} makes one after another)`
    : `${measured}; the last column: workflows/s per single-row commit/s the server does at ${f.manyClients} clients`;
}

function printWorkload(workload, rows, settings) {
  if (workload === 'instances') return printInstances(rows, settings);
  if (workload === 'fanout') return printFanout(rows, settings);
  if (workload === 'recovery') return printRecovery(rows, settings);
  if (workload === 'scale') return printScale(rows, settings);
  if (workload === 'footprint') return printFootprint(rows, settings);
  const reference = rows.find((r) => r.system === REFERENCE && !r.unavailable);
  const isLatency = workload === 'queue-latency';
  const isQueue = workload === 'queue' || isLatency;
  const rate = workload === 'messaging' ? 'round trips/s' : isQueue ? 'jobs/s' : 'wf/s';
  const floor = floorColumns(workload);
  const header = [
    'system',
    rate,
    isQueue ? 'start p50 ms' : 'p50 ms',
    isQueue ? 'start p99 ms' : 'p99 ms',
    ...(workload === 'queue' ? ['enqueue s'] : []),
    `${rate} vs ${REFERENCE}`,
    `p50 vs ${REFERENCE}`,
    'stmts/op',
    'commits/op',
    'cpu µs/op',
    ...floor.header,
  ];
  const lines = rows.map((r) =>
    r.unavailable
      ? [r.system, 'UNAVAILABLE', '-', '-', ...(workload === 'queue' ? ['-'] : []), '-', '-', '-', '-', '-', ...floor.header.map(() => '-')]
      : [
          r.system,
          isLatency ? '-' : fixed(r.workflowsPerSec, 1),
          fixed(r.p50Ms, 2),
          fixed(r.p99Ms, 2),
          ...(workload === 'queue' ? [fixed(r.enqueueSec, 2)] : []),
          // Higher is better for the rate, lower for the latency.
          isLatency ? '-' : ratio(r.workflowsPerSec, reference?.workflowsPerSec),
          ratio(r.p50Ms, reference?.p50Ms),
          ...perOp(r),
          cpuCell(r),
          ...floor.cells(r),
        ],
  );
  console.log(`\n== ${workload}: ${describe(workload, settings)}`);
  for (const line of formatTable(header, lines)) console.log(line);
  if (floor.header.length > 0) console.log(describeFloor(workload));
  const ours = rows.find((r) => r.system === OURS && !r.unavailable);
  const versus = (a, b) =>
    console.log(
      `${a.system} vs ${b.system}: throughput ${ratio(a.workflowsPerSec, b.workflowsPerSec)} (higher is better), ` +
        `start p50 ${ratio(a.p50Ms, b.p50Ms)}, start p99 ${ratio(a.p99Ms, b.p99Ms)} (lower is better)`,
    );
  if (ours && workload === 'queue') {
    // Against every other queue too, not only DBOS.
    for (const other of rows) if (other.system !== OURS && !other.unavailable) versus(ours, other);
  }
  // What graphile-worker's batching settings change on the same jobs.
  const tuned = rows.find((r) => r.system === 'graphile-worker-tuned' && !r.unavailable);
  const plain = rows.find((r) => r.system === 'graphile-worker' && !r.unavailable);
  if (workload === 'queue' && tuned && plain) versus(tuned, plain);
  for (const r of rows) if (r.unavailable) console.log(`UNAVAILABLE ${r.system} ${workload}: ${r.unavailable}`);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const options = readOptions();
  const { settings } = options;
  ensureBenchDependencies(options.systems);
  const { openServer, recreateDatabase } = require('./postgres');
  const server = await openServer();
  console.error(`postgres: ${server.description}`);
  console.error(`workloads: ${options.workloads.join(', ')}; systems: ${options.systems.join(', ')}`);
  console.error(
    `settings: sequential ${settings.sequential}, concurrent ${settings.concurrent} with ${settings.inflight} in flight, ` +
      `warm-up ${settings.warmup} and ${settings.warmupSeconds} s per workload, messaging ${settings.messages} round trips, queue ${settings.queueJobs} jobs ` +
      `drained ${settings.queueConcurrency} at a time (DBOS queue poll ${settings.dbosQueuePollMs} ms)`,
  );
  const rows = [];
  const started = Date.now();
  try {
    if (options.workloads.some((w) => CHAINED.includes(w) || w === 'concurrent')) {
      const { measureCommitFloor } = require('./commit-floor');
      console.error('measuring the commit floor ...');
      commitFloor = await measureCommitFloor(await recreateDatabase(server.url, 'bench_commit_floor'));
      rows.push({ workload: 'commit-floor', system: 'postgres', ...commitFloor });
    }
    for (const group of GROUPS) {
      for (const name of options.systems) {
        const workloads = group.filter((w) => options.workloads.includes(w) && SYSTEMS[name].workloads.includes(w));
        if (workloads.length === 0) continue;
        const databaseUrl = await recreateDatabase(server.url, SYSTEMS[name].database);
        console.error(`running ${name}: ${workloads.join(', ')} ...`);
        try {
          rows.push(...(await runChild(name, databaseUrl, settings, workloads)));
        } catch (err) {
          // Say so in the table instead of dropping the row or the whole run.
          for (const workload of workloads) {
            rows.push({ workload, system: name, workflowsPerSec: null, p50Ms: null, p99Ms: null, unavailable: err.message });
          }
        }
      }
    }
    if (options.workloads.includes('recovery')) {
      const recovery = require('./recovery');
      for (const name of options.systems) {
        if (!SYSTEMS[name].workloads.includes('recovery')) continue;
        // Other systems' tables are not filled: they run on empty tables only.
        const histories = SYSTEMS[name].fillsHistory ? settings.historyRows : [0];
        for (const historyRows of histories) {
          for (const variant of SYSTEMS[name].recoveryVariants ?? ['restart', 'takeover']) {
            const databaseUrl = await recreateDatabase(server.url, SYSTEMS[name].database);
            console.error(`running ${name}: recovery ${variant}, ${historyRows} finished workflows in the tables ...`);
            const env = {
              ...process.env,
              DATABASE_URL: databaseUrl,
              BENCH_DATABASE_URL: databaseUrl,
              BENCH_OPTIONS: JSON.stringify({ ...settings, historyRows, workloads: ['recovery'] }),
            };
            const spec = { name, argv: SYSTEMS[name].argv, cwd: ROOT, leaseExpirySql: SYSTEMS[name].leaseExpirySql };
            try {
              rows.push(
                variant === 'restart'
                  ? await recovery.restart(spec, env, settings.recoveryWorkflows, historyRows)
                  : await recovery.takeover(spec, env, settings.recoveryWorkflows, settings.recoveryLeaseMs, databaseUrl, historyRows),
              );
            } catch (err) {
              rows.push({ workload: 'recovery', variant, system: name, historyRows, unavailable: err.message });
            }
          }
        }
      }
    }
    if (options.workloads.includes('footprint') && options.systems.includes(OURS)) {
      const { measureFootprint } = require('./footprint');
      const databaseUrl = await recreateDatabase(server.url, SYSTEMS[OURS].database);
      console.error(`running ${OURS}: footprint ...`);
      try {
        rows.push(...(await measureFootprint(databaseUrl, settings)));
      } catch (err) {
        rows.push({ workload: 'footprint', system: OURS, unavailable: err.message });
      }
    }
    if (options.workloads.includes('instances') && options.systems.includes(OURS)) {
      const { measureInstances } = require('./instances');
      const spec = { name: OURS, database: SYSTEMS[OURS].database, argv: SYSTEMS[OURS].argv, cwd: ROOT };
      rows.push(...(await measureInstances(spec, server.url, recreateDatabase, settings)));
    }
  } finally {
    await server.stop();
  }
  console.error(`benchmark took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (rows.length === 0) console.error('nothing ran: none of the chosen systems runs the chosen workloads');
  const systemOrder = Object.keys(SYSTEMS);
  rows.sort((a, b) => WORKLOADS.indexOf(a.workload) - WORKLOADS.indexOf(b.workload) || systemOrder.indexOf(a.system) - systemOrder.indexOf(b.system));
  for (const workload of WORKLOADS) {
    const group = rows.filter((r) => r.workload === workload);
    if (group.length > 0) printWorkload(workload, group, settings);
  }
  if (options.json) fs.writeFileSync(options.json, JSON.stringify(rows, null, 2) + '\n');
  const missing = rows.filter((r) => r.unavailable);
  if (missing.length > 0) {
    console.error(`\n${missing.length} result(s) unavailable: ${missing.map((r) => `${r.system}/${r.workload}`).join(', ')}`);
    process.exitCode = 1;
  }
}

// Exits once the tables are out: after the recovery workload the orchestrator was seen to stay
// alive on a handle not yet tracked down.
main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err.message ?? err);
    process.exit(1);
  },
);
