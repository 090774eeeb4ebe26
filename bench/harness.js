'use strict';
// Measurement loops shared by the per-system child processes. Each system only says how to
// start, how to run one workflow, how to exchange one message, how to enqueue one job and how
// to stop; timing and reporting live here so that every system is measured by exactly the
// same code.
const { performance } = require('node:perf_hooks');
const counting = require('./counting');
const { oneClientCommitP50 } = require('./commit-floor');

/**
 * Runs `measure` between two measurements of the one-client commit (bench/commit-floor.js) from
 * this process, in its database, and adds their mean to its result as `floorP50Ms`: the floor of
 * a workload whose commits are made one after another, taken when the workload ran.
 */
async function withAdjacentFloor(measure) {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) return measure();
  const before = await oneClientCommitP50(url);
  const result = await measure();
  const after = await oneClientCommitP50(url);
  return { ...result, floorP50Ms: round((before + after) / 2, 4) };
}

// The orchestrator picks the result out of the child's stdout by this prefix, so any other
// output a system prints cannot be mistaken for it.
const RESULT_PREFIX = 'BENCH_RESULT ';

// Nearest-rank percentile of an ascending array.
function percentile(sorted, p) {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

function round(value, digits) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

// `count` operations in `elapsedMs`, and the percentiles of their latencies.
function summarize(latencies, elapsedMs, count = latencies.length) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    workflowsPerSec: round((count * 1000) / elapsedMs, 1),
    p50Ms: round(percentile(sorted, 50), 3),
    p99Ms: round(percentile(sorted, 99), 3),
  };
}

// Runs `count` calls of `task(n)` (n = firstInput, firstInput + 1, ...) with at most `inflight`
// outstanding.
async function pool(count, inflight, firstInput, task) {
  let issued = 0;
  const worker = async () => {
    while (issued < count) await task(firstInput + issued++);
  };
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, worker));
}

// ---------------------------------------------------------------------------------------------
// sequential / concurrent: direct workflow calls.

async function timeOne(runOne, input, latencies) {
  const start = performance.now();
  const result = await runOne(input);
  latencies.push(performance.now() - start);
  // A wrong result would mean the workflow did not really run: fail rather than report a fast no-op.
  if (result !== input) throw new Error(`workflow(${input}) returned ${JSON.stringify(result)}`);
}

// Runs `count` workflows with at most `inflight` outstanding; inflight 1 is the sequential case.
async function runWorkload(runOne, count, inflight, firstInput) {
  const latencies = [];
  const before = counting.snapshot();
  const start = performance.now();
  await pool(count, inflight, firstInput, (input) => timeOne(runOne, input, latencies));
  return { ...summarize(latencies, performance.now() - start), ...counting.perOperation(before, count) };
}

// Keeps `inflight` workflows outstanding for as long as `going()` is true (checked before each
// call), then waits for those in flight: a steady load over a window whose end is not known in
// advance (retention under load), without the ramp-down a series of short fixed-count runs has.
// Returns every call's latency, the wall time and the statement counts from before the first call.
async function loadWhile(runOne, inflight, firstInput, going) {
  const latencies = [];
  const before = counting.snapshot();
  const start = performance.now();
  let issued = 0;
  const worker = async () => {
    while (going()) await timeOne(runOne, firstInput + issued++, latencies);
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return { latencies, elapsedMs: performance.now() - start, before };
}

async function runWhile(runOne, inflight, firstInput, going) {
  const { latencies, elapsedMs, before } = await loadWhile(runOne, inflight, firstInput, going);
  return { ...summarize(latencies, elapsedMs), ...counting.perOperation(before, latencies.length), count: latencies.length };
}

// Untimed calls, `inflight` at a time, for at least `options.warmupSeconds`: the shape of load about
// to be measured, long enough for the JIT to have compiled its hot path (a few hundred calls are
// not: their code is still interpreted or baseline-compiled, and its optimization runs on the
// process's other threads). Every system gets the same window, so each is measured warm, as an
// application that has been up for a while is.
async function warmUp(runOne, inflight, firstInput, options) {
  const until = performance.now() + options.warmupSeconds * 1000;
  await loadWhile(runOne, inflight, firstInput, () => performance.now() < until);
}

async function measureCalls(system, hooks, options) {
  const rows = [];
  // Warm-up fills connection pools before anything is timed.
  await runWorkload(hooks.runOne, options.warmup, options.inflight, 0);
  if (options.workloads.includes('sequential') && options.sequential > 0) {
    await warmUp(hooks.runOne, 1, 3_000_000, options);
    const stats = await withAdjacentFloor(() => runWorkload(hooks.runOne, options.sequential, 1, 1_000_000));
    rows.push({ workload: 'sequential', system, ...stats });
  }
  if (options.workloads.includes('concurrent') && options.concurrent > 0) {
    await warmUp(hooks.runOne, options.inflight, 4_000_000, options);
    const stats = await runWorkload(hooks.runOne, options.concurrent, options.inflight, 2_000_000);
    rows.push({ workload: 'concurrent', system, ...stats });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// messaging: one long-running workflow answers every message with an event. A round trip is
// send(workflowId, i) followed by getEvent(workflowId, `key_${i}`) returning i.

async function measureMessaging(system, messaging, options) {
  // Untimed echo workflows of 100 round trips each, for --warmup-seconds (see warmUp).
  const until = performance.now() + options.warmupSeconds * 1000;
  while (performance.now() < until) await echoRoundTrips(system, messaging, { warmup: 0, messages: 100 });
  return [await withAdjacentFloor(() => echoRoundTrips(system, messaging, options))];
}

// The timed round trips of `messaging`, on one echo workflow: the first (at most 50) untimed.
async function echoRoundTrips(system, messaging, options) {
  const warmup = Math.min(options.warmup, 50);
  const rounds = warmup + options.messages;
  const workflowId = `bench-echo-${process.pid}-${Date.now()}`;
  const finished = await messaging.startEcho(workflowId, rounds);
  const latencies = [];
  let measuredStart = performance.now();
  let before = counting.snapshot();
  for (let i = 0; i < rounds; i++) {
    if (i === warmup) {
      measuredStart = performance.now();
      before = counting.snapshot();
    }
    const start = performance.now();
    await messaging.send(workflowId, i);
    const value = await messaging.getEvent(workflowId, `key_${i}`);
    const elapsed = performance.now() - start;
    if (value !== i) throw new Error(`round trip ${i}: the event holds ${JSON.stringify(value)}, expected ${i}`);
    if (i >= warmup) latencies.push(elapsed);
  }
  const elapsedMs = performance.now() - measuredStart;
  const perOp = counting.perOperation(before, options.messages);
  const result = await finished();
  if (result !== rounds) throw new Error(`the echo workflow returned ${JSON.stringify(result)}, expected ${rounds}`);
  return { workload: 'messaging', system, ...summarize(latencies, elapsedMs), ...perOp };
}

// ---------------------------------------------------------------------------------------------
// queue: enqueue jobs as fast as `inflight` concurrent producers can, drain them with the
// system's worker concurrency, and record in memory when each body starts and ends.

// The job bodies of every system call started(payload) first and finished() last; the payload
// is `{ i, enqueuedAt }` (enqueuedAt: performance.now() of this process, taken just before the
// enqueue call, so the latency includes the enqueue itself).
const queueProbe = {
  expected: 0,
  base: 0,
  starts: null,
  latencies: [],
  done: 0,
  lastDoneAt: 0,
  onDone: null,
  error: null,

  reset(base, expected) {
    this.base = base;
    this.expected = expected;
    this.starts = new Uint8Array(expected);
    this.latencies = [];
    this.done = 0;
    this.lastDoneAt = 0;
    this.error = null;
    return new Promise((resolve) => {
      this.onDone = resolve;
    });
  },

  started(job) {
    const now = performance.now();
    const k = job.i - this.base;
    if (!(k >= 0 && k < this.expected)) {
      this.fail(new Error(`job ${job.i} started outside the batch being measured`));
      return;
    }
    if (this.starts[k]) {
      this.fail(new Error(`job ${job.i} started twice`));
      return;
    }
    this.starts[k] = 1;
    this.latencies.push(now - job.enqueuedAt);
  },

  finished() {
    this.lastDoneAt = performance.now();
    if (++this.done === this.expected) this.onDone?.();
  },

  fail(err) {
    this.error ??= err;
    this.onDone?.();
  },
};

async function drain(queue, count, options, base) {
  const allDone = queueProbe.reset(base, count);
  const start = performance.now();
  let enqueueError = null;
  const enqueued = pool(count, options.inflight, base, (i) => queue.enqueue({ i, enqueuedAt: performance.now() })).catch((err) => {
    enqueueError = err;
    queueProbe.fail(err);
  });
  const enqueueEnded = enqueued.then(() => performance.now());
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`only ${queueProbe.done} of ${count} queued jobs finished within ${options.queueTimeoutMs} ms`)),
      options.queueTimeoutMs,
    );
  });
  try {
    await Promise.race([allDone, timeout]);
  } finally {
    clearTimeout(timer);
  }
  await enqueued;
  if (enqueueError) throw enqueueError;
  if (queueProbe.error) throw queueProbe.error;
  return { start, enqueueMs: (await enqueueEnded) - start, endMs: queueProbe.lastDoneAt };
}

async function measureQueue(system, queue, options) {
  const count = options.queueJobs;
  // Warm-up: one small batch through the same path, waited out, before anything is timed.
  if (options.warmup > 0) {
    await drain(queue, options.warmup, options, 0);
    await queue.settle?.(options.warmup);
  }
  const before = counting.snapshot();
  const { start, enqueueMs, endMs } = await drain(queue, count, options, 1_000_000);
  const elapsedMs = endMs - start;
  const stats = { ...summarize(queueProbe.latencies, elapsedMs, count), ...counting.perOperation(before, count) };
  console.error(`[${system}] queue: ${count} enqueued in ${(enqueueMs / 1000).toFixed(2)} s, ` + `last finished after ${(elapsedMs / 1000).toFixed(2)} s`);
  // Untimed: every job must also be recorded as done by the system itself.
  await queue.settle?.(options.warmup + count);
  return [{ workload: 'queue', system, ...stats, startLatency: true, enqueueSec: round(enqueueMs / 1000, 2) }];
}

// ---------------------------------------------------------------------------------------------
// queue-latency: one job at a time on an otherwise idle queue. Each job is enqueued only once
// the previous one finished and the queue sat idle for `queueLatencyIdleMs`, so what is measured
// is how fast an idle worker notices and starts new work, not the wait behind a backlog.

async function measureQueueLatency(system, queue, options) {
  const count = options.queueLatencyJobs;
  const base = 3_000_000;
  const runJob = async (i) => {
    const done = queueProbe.reset(i, 1);
    await queue.enqueue({ i, enqueuedAt: performance.now() });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`queue-latency: job ${i} did not finish within 30 s`)), 30_000);
    });
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (queueProbe.error) throw queueProbe.error;
    return queueProbe.latencies[0];
  };
  for (let k = 0; k < Math.min(options.warmup, 20); k++) await runJob(base - 100 + k);
  const latencies = [];
  const before = counting.snapshot();
  const start = performance.now();
  for (let k = 0; k < count; k++) {
    await new Promise((resolve) => setTimeout(resolve, options.queueLatencyIdleMs));
    latencies.push(await runJob(base + k));
  }
  const elapsedMs = performance.now() - start;
  return [{ workload: 'queue-latency', system, ...summarize(latencies, elapsedMs), ...counting.perOperation(before, count), startLatency: true }];
}

// ---------------------------------------------------------------------------------------------
// fanout: one parent workflow starts N child workflows (one trivial step each) on a queue of
// global concurrency `fanoutConcurrency` and awaits all their results. Rate = children / the
// parent's wall time, from the call of the parent to its result.

async function measureFanout(system, fanout, options) {
  const rows = [];
  // Warm-up: one small fan-out through the same path, untimed.
  if (options.warmup > 0) await runFanout(fanout, Math.min(options.warmup, 50), 'warmup', options.fanoutStarts[0]);
  for (const starts of options.fanoutStarts)
    for (const n of options.fanoutChildren) {
      const before = counting.snapshot();
      const start = performance.now();
      await runFanout(fanout, n, `${starts}-${n}`, starts);
      const elapsedMs = performance.now() - start;
      console.error(`[${system}] fanout: ${n} children (${starts} starts) in ${(elapsedMs / 1000).toFixed(2)} s`);
      rows.push({
        workload: 'fanout',
        system,
        starts,
        children: n,
        workflowsPerSec: round((n * 1000) / elapsedMs, 1),
        parentSec: round(elapsedMs / 1000, 2),
        p50Ms: null,
        p99Ms: null,
        ...counting.perOperation(before, n),
      });
    }
  return rows;
}

// Runs one parent of n children and checks it returned every child's result in order.
async function runFanout(fanout, n, label, starts) {
  const results = await fanout.run(n, `fan-${label}-${process.pid}`, starts);
  if (!Array.isArray(results) || results.length !== n || results.some((r, i) => r !== i)) {
    throw new Error(`fanout of ${n}: the parent returned ${JSON.stringify(results).slice(0, 200)}, expected [0..${n - 1}]`);
  }
}

// ---------------------------------------------------------------------------------------------

async function measure(system, hooks, options) {
  const rows = [];
  const wants = (name) => options.workloads.includes(name);
  if (wants('sequential') || wants('concurrent')) rows.push(...(await measureCalls(system, hooks, options)));
  if (wants('messaging')) rows.push(...(await measureMessaging(system, hooks.messaging, options)));
  if (wants('queue')) rows.push(...(await measureQueue(system, hooks.queue, options)));
  if (wants('queue-latency')) rows.push(...(await measureQueueLatency(system, hooks.queue, options)));
  if (wants('scale')) rows.push(...(await hooks.scale(options)));
  if (wants('fanout')) rows.push(...(await measureFanout(system, hooks.fanout, options)));
  return rows;
}

// A system that leaves handles open after stopping would keep its child alive forever; say so
// and exit, so the run still finishes and the problem is visible.
function exitSoon(system) {
  setTimeout(() => {
    console.error(`[${system}] process still alive 10 s after shutdown: open handles were left behind`);
    process.exit(process.exitCode ?? 0);
  }, 10_000).unref();
}

async function runBench(system, hooks) {
  const options = JSON.parse(process.env.BENCH_OPTIONS);
  let rows;
  await hooks.start(process.env.BENCH_DATABASE_URL, options);
  try {
    rows = await measure(system, hooks, options);
  } finally {
    await hooks.stop();
  }
  process.stdout.write(RESULT_PREFIX + JSON.stringify(rows) + '\n');
  exitSoon(system);
}

// ---------------------------------------------------------------------------------------------
// recovery: child roles, driven by recovery.js. `fill` fills `historyRows` finished workflows
// (when the system has `fillHistory`), then starts N workflows that each record their
// first step and then block in the second, prints FILLED and waits to be SIGKILLed. `recover`
// (the same executor id) and `takeover` (another id; two of them) launch the system, record the
// moment each workflow body runs again, and answer the driver's questions over IPC.
//
// The recovery workflow of every system: body entry (probe) -> s1 -> s2 (blocks in `fill`) -> s3.

const recoveryProbe = {
  role: process.env.BENCH_RECOVERY_ROLE ?? '',
  launchedAt: 0,
  started: new Set(),
  repeats: 0,
  firstStartAt: 0,
  lastStartAt: 0,
  s1Runs: 0,
  // In the body, before anything else.
  entered(i) {
    if (this.role === 'fill') return;
    const now = Date.now();
    if (this.started.has(i)) this.repeats++;
    this.started.add(i);
    if (this.firstStartAt === 0) this.firstStartAt = now;
    this.lastStartAt = now;
  },
  // In the second step: blocks for ever while filling.
  blockWhileFilling() {
    return this.role === 'fill' ? new Promise(() => undefined) : Promise.resolve();
  },
};

async function runRecoveryRole(system, recovery) {
  const options = JSON.parse(process.env.BENCH_OPTIONS);
  const role = recoveryProbe.role;
  const executorId = process.env.BENCH_EXECUTOR_ID;
  const n = options.recoveryWorkflows;
  recoveryProbe.launchedAt = Date.now();
  await recovery.launch(process.env.BENCH_DATABASE_URL, { executorId, leaseMs: options.recoveryLeaseMs, role });
  if (role === 'fill') {
    // The finished history first (analysed before any of the N is PENDING), as months of use leave it.
    if (options.historyRows > 0) {
      const started = Date.now();
      await recovery.fillHistory(options.historyRows);
      console.error(`[${system}] ${options.historyRows} finished workflows filled and analysed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    await pool(n, options.inflight, 0, (i) => recovery.startOne(i));
    await waitForCount('recovery fill', () => recovery.countFirstSteps(), n, 180_000);
    console.log('FILLED');
    await new Promise(() => undefined); // until SIGKILL
  }
  process.on('message', async (message) => {
    try {
      if (message === 'report') {
        process.send({
          launchedAt: recoveryProbe.launchedAt,
          started: recoveryProbe.started.size,
          repeats: recoveryProbe.repeats,
          firstStartAt: recoveryProbe.firstStartAt,
          lastStartAt: recoveryProbe.lastStartAt,
          done: await recovery.countDone(),
          s1Runs: recoveryProbe.s1Runs,
          statements: counting.snapshot(),
        });
      } else if (message === 'stop') {
        await recovery.stop();
        process.exit(0);
      }
    } catch (err) {
      console.error(`[${system}] recovery ${role} failed:`, err);
      process.exit(1);
    }
  });
  process.send({ ready: true });
}

function main(system, hooks) {
  // One of the `instances` workload's processes (instances.js drives them).
  if (process.env.BENCH_INSTANCE_ID) {
    require('./instances').runInstance(system, hooks.instances);
    return;
  }
  if (recoveryProbe.role) {
    runRecoveryRole(system, hooks.recovery).catch((err) => {
      console.error(`[${system}] benchmark failed:`, err);
      process.exit(1);
    });
    return;
  }
  runBench(system, hooks).catch((err) => {
    console.error(`[${system}] benchmark failed:`, err);
    process.exit(1);
  });
}

// Polls `countDone()` until it reaches `expected`; for the untimed check after a queue drain.
async function waitForCount(what, countDone, expected, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await countDone();
    if (n >= expected) return;
    if (Date.now() > deadline) throw new Error(`${what}: ${n} of ${expected} recorded as done after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

module.exports = { main, percentile, queueProbe, recoveryProbe, runWorkload, loadWhile, runWhile, waitForCount, RESULT_PREFIX };
