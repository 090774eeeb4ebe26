'use strict';
// The `instances` workload: how many app processes one Postgres serves and how the throughput
// scales with them. For each N of --instances: N real nestjs-dbos processes (distinct executor
// ids) on one fresh database, connected directly or through a PgBouncer in transaction mode.
// Each warms up and says ready; once all are, the parent says go and each keeps
// --instances-inflight calls of the 3-step workflow outstanding for --instances-seconds. The
// parent meanwhile samples, for the bench database, pg_stat_activity (the server connections in
// use) and pg_stat_database.xact_commit (the server's commits).
const { performance } = require('node:perf_hooks');
const { Client } = require('pg');
const { loadWhile, percentile, runWorkload } = require('./harness');
const counting = require('./counting');
const { startChild, stopAll } = require('./recovery');

// A backend adds its commits to pg_stat_database at most once a second, at the end of a
// transaction (PG15+; an idle backend was seen to keep them for over a minute, not the 10 s its
// idle timeout suggests). So xact_commit/s is the slope while every backend is busy: from
// SETTLE_MS after the go (the warm-up's commits held until then are flushed in the first second)
// to the end of the window, where each backend holds back up to a second of commits as it did
// at the start. It also counts what no client sends: the transaction in which a LISTEN backend
// reads the notifications that woke it (each outcome statement's NOTIFY wakes all N of them).
const SETTLE_MS = 2_000;
// Direct connections a process holds beyond its pool (database.poolSize): the heartbeat's, the
// LISTEN connection, and the one the @Transaction pool opens at start-up (idle, closed after
// 10 s; this workflow has no @Transaction).
const EXTRA_CONNECTIONS = 3;
// Connections the benchmark keeps for itself (the parent's probe, a migration's lock).
const MARGIN = 3;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// max_connections and the client connections open now (other databases', this probe).
async function serverConnections(probe) {
  const { rows } = await probe.query(
    `SELECT current_setting('max_connections')::int AS max, count(*)::int AS used FROM pg_stat_activity WHERE backend_type = 'client backend'`,
  );
  return rows[0];
}

/**
 * The pool size of every process of one connection mode, the same for all N so the rows compare:
 * --instances-pool-size, lowered when the largest N would not fit the server's free connections.
 * Through PgBouncer the processes' pools are its client connections; the server sees the
 * bouncer's pool (--instances-bouncer-pool, lowered the same way) and one LISTEN connection per
 * process.
 */
function planConnections(mode, maxN, settings, { max, used }) {
  const free = max - used - MARGIN;
  const base = { maxConnections: max, connectionsInUse: used, requestedPoolSize: settings.instancesPoolSize };
  if (mode === 'transaction') {
    const bouncerPool = Math.min(settings.instancesBouncerPool, free - maxN);
    if (bouncerPool < 1)
      throw new Error(
        `${maxN} LISTEN connections and a PgBouncer pool of at least 1 need ${maxN + 1} server connections; ` +
          `${free} are free (max_connections ${max}, ${used} in use): raise max_connections or run fewer --instances`,
      );
    return { ...base, poolSize: settings.instancesPoolSize, requestedBouncerPool: settings.instancesBouncerPool, bouncerPool };
  }
  const fits = Math.floor(free / maxN) - EXTRA_CONNECTIONS;
  if (fits < 1)
    throw new Error(
      `${maxN} instances need at least ${maxN * (1 + EXTRA_CONNECTIONS)} server connections (a pool of 1 and ${EXTRA_CONNECTIONS} more each); ` +
        `${free} are free (max_connections ${max}, ${used} in use): raise max_connections, run fewer --instances, or use --instances-pooler transaction`,
    );
  return { ...base, poolSize: Math.min(settings.instancesPoolSize, fits) };
}

// Samples the bench database's server connections and commits until stop(): the peak of all
// connections and of those not idle (running a statement or inside a transaction), and the
// xact_commit readings with their times.
function sampleServer(probe, database) {
  const peak = { total: 0, busy: 0 };
  const commits = [];
  let going = true;
  const done = (async () => {
    while (going) {
      const { rows } = await probe.query(
        `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = $1) AS xact_commit,
                count(*)::int AS total, count(*) FILTER (WHERE state <> 'idle')::int AS busy
           FROM pg_stat_activity WHERE datname = $1`,
        [database],
      );
      commits.push({ at: performance.now(), xactCommit: Number(rows[0].xact_commit) });
      peak.total = Math.max(peak.total, rows[0].total);
      peak.busy = Math.max(peak.busy, rows[0].busy);
      await sleep(200);
    }
  })();
  return async () => {
    going = false;
    await done;
    return { peak, commits };
  };
}

// Commits per second between the first reading SETTLE_MS (at most a third of the window) after
// the go and the last one inside the window.
function commitRate(commits, goAt, windowMs) {
  const inside = commits.filter((c) => c.at >= goAt + Math.min(SETTLE_MS, windowMs / 3) && c.at <= goAt + windowMs);
  if (inside.length < 2) return null;
  const [first, last] = [inside[0], inside[inside.length - 1]];
  return ((last.xactCommit - first.xactCommit) * 1000) / (last.at - first.at);
}

async function startBouncer(databaseUrl, n, plan) {
  require('ts-node/register/transpile-only');
  const { PgBouncer, pgbouncerMissing } = require('../test/support/pgbouncer');
  const missing = pgbouncerMissing();
  if (missing) throw new Error(missing);
  // Each process opens up to 2 x poolSize + 1 client connections (docs/poolers.md).
  try {
    return await PgBouncer.start({
      poolMode: 'transaction',
      poolSize: plan.bouncerPool,
      targetUrl: databaseUrl,
      maxClientConn: n * (2 * plan.poolSize + 1) + 20,
    });
  } catch (err) {
    // The message carries PgBouncer's whole log: keep its first line and the server's refusal.
    const lines = String(err.message).split('\n');
    const refusal = lines.find((l) => /FATAL|ERROR/.test(l));
    throw new Error(refusal ? `${lines[0]}; PgBouncer logged: ${refusal.replace(/^.*?(FATAL|ERROR)/, '$1')}` : lines[0], { cause: err });
  }
}

// One N: start, barrier, window, server-side counts, stop.
async function runOnce(spec, n, mode, plan, settings, probe, databaseUrl) {
  const database = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  const bouncer = mode === 'transaction' ? await startBouncer(databaseUrl, n, plan) : undefined;
  const url = bouncer ? bouncer.url(databaseUrl) : databaseUrl;
  const connection = { poolSize: plan.poolSize, ...(bouncer ? { pooler: 'transaction', listenUrl: databaseUrl } : {}) };
  const children = [];
  try {
    for (let k = 0; k < n; k++) {
      const instance = { executorId: `bench-instance-${k}`, database: connection };
      const env = {
        ...process.env,
        DATABASE_URL: url,
        BENCH_DATABASE_URL: url,
        BENCH_INSTANCE_ID: String(k),
        BENCH_OPTIONS: JSON.stringify({ ...settings, workloads: ['instances'], instance }),
      };
      children.push(startChild(spec.argv, spec.cwd, env, `${spec.name} ${mode} ${n}/${k}`));
    }
    // Every process transpiles the library (bench/transpile.js): on one core, 16 of them take a while.
    await Promise.all(children.map((c) => c.nextMessage(60_000 + n * 15_000)));
    const stopSampling = sampleServer(probe, database);
    const goAt = performance.now();
    for (const c of children) c.child.send('go');
    const results = await Promise.all(children.map((c) => c.nextMessage(settings.instancesSeconds * 1000 + 60_000)));
    const { peak, commits } = await stopSampling();
    return row(n, mode, plan, settings, results, { peak, xactCommitPerSec: commitRate(commits, goAt, settings.instancesSeconds * 1000) });
  } finally {
    await stopAll(children);
    await bouncer?.stop();
  }
}

function row(n, mode, plan, settings, results, server) {
  const sum = (f) => results.reduce((a, r) => a + f(r), 0);
  const count = sum((r) => r.count);
  const rates = results.map((r) => (r.count * 1000) / r.elapsedMs).sort((a, b) => a - b);
  const windowSec = sum((r) => r.elapsedMs) / n / 1000;
  const latencies = Float64Array.from(results.flatMap((r) => r.latencies)).sort();
  const round = (v, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
  return {
    workload: 'instances',
    system: 'nestjs-dbos',
    pooler: mode,
    instances: n,
    inflightPerInstance: settings.instancesInflight,
    ...plan,
    windowSec: round(windowSec, 2),
    workflows: count,
    workflowsPerSec: round(rates.reduce((a, b) => a + b, 0)),
    perInstanceWorkflowsPerSec: { min: round(rates[0]), median: round(rates[Math.floor((n - 1) / 2)]), max: round(rates[n - 1]) },
    p50Ms: round(percentile(latencies, 50), 2),
    p99Ms: round(percentile(latencies, 99), 2),
    statementsPerOp: round(sum((r) => r.statements) / count, 2),
    commitsPerOp: round(sum((r) => r.commits) / count, 2),
    xactCommitPerSec: server.xactCommitPerSec === null ? null : round(server.xactCommitPerSec),
    // The commits the processes counted themselves, per second of their windows.
    clientCommitsPerSec: round(sum((r) => (r.commits * 1000) / r.elapsedMs)),
    serverConnectionsPeak: server.peak.total,
    busyConnectionsPeak: server.peak.busy,
  };
}

/** Every N of --instances for every mode of --instances-pooler; a failed N is an unavailable row. */
async function measureInstances(spec, serverUrl, recreateDatabase, settings) {
  const rows = [];
  const probe = new Client({ connectionString: serverUrl });
  await probe.connect();
  try {
    const maxN = Math.max(...settings.instances);
    for (const mode of settings.instancesPooler) {
      let plan;
      try {
        plan = planConnections(mode, maxN, settings, await serverConnections(probe));
      } catch (err) {
        for (const n of settings.instances) rows.push({ workload: 'instances', system: spec.name, pooler: mode, instances: n, unavailable: err.message });
        continue;
      }
      const bouncer = plan.bouncerPool ? `, PgBouncer default_pool_size ${plan.bouncerPool}` : '';
      console.error(`instances (${mode}): pool ${plan.poolSize} per process${bouncer}; max_connections ${plan.maxConnections}, ${plan.connectionsInUse} open`);
      for (const n of settings.instances) {
        const databaseUrl = await recreateDatabase(serverUrl, spec.database);
        console.error(`running ${spec.name}: instances ${n} (${mode}) ...`);
        try {
          rows.push(await runOnce(spec, n, mode, plan, settings, probe, databaseUrl));
        } catch (err) {
          rows.push({ workload: 'instances', system: spec.name, pooler: mode, instances: n, ...plan, unavailable: err.message });
        }
      }
    }
  } finally {
    await probe.end();
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// In each process (harness.main with BENCH_INSTANCE_ID): launch, warm up, report ready; on 'go'
// run the window and send its latencies and statement counts; on 'stop' close and exit.

async function runInstance(system, instance) {
  const options = JSON.parse(process.env.BENCH_OPTIONS);
  const k = Number(process.env.BENCH_INSTANCE_ID);
  const inflight = options.instancesInflight;
  const fail = (err) => {
    console.error(`[${system}] benchmark failed:`, err);
    process.exit(1);
  };
  process.on('message', (message) => {
    const answer = async () => {
      if (message === 'go') {
        const end = performance.now() + options.instancesSeconds * 1000;
        const { latencies, elapsedMs, before } = await loadWhile(instance.runOne, inflight, k * 100_000_000 + 10_000_000, () => performance.now() < end);
        const now = counting.snapshot();
        process.send({
          count: latencies.length,
          elapsedMs,
          latencies: latencies.map((l) => Math.round(l * 1000) / 1000),
          statements: now.statements - before.statements,
          commits: now.commits - before.commits,
        });
      } else if (message === 'stop') {
        await instance.stop();
        process.exit(0);
      }
    };
    answer().catch(fail);
  });
  try {
    await instance.launch(process.env.BENCH_DATABASE_URL, options, options.instance);
    await runWorkload(instance.runOne, options.warmup, inflight, k * 100_000_000);
    process.send({ ready: true });
  } catch (err) {
    fail(err);
  }
}

module.exports = { measureInstances, runInstance };
