'use strict';
// Measurement loop shared by the per-system child processes. Each system only says how to
// start, how to run one workflow and how to stop; timing and reporting live here so that
// both systems are measured by exactly the same code.
const { performance } = require('node:perf_hooks');

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

function summarize(latencies, elapsedMs) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    workflowsPerSec: round((latencies.length * 1000) / elapsedMs, 1),
    p50Ms: round(percentile(sorted, 50), 3),
    p99Ms: round(percentile(sorted, 99), 3),
  };
}

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
  let issued = 0;
  const worker = async () => {
    while (issued < count) await timeOne(runOne, firstInput + issued++, latencies);
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, worker));
  return summarize(latencies, performance.now() - start);
}

async function measure(system, runOne, options) {
  // Warm-up fills connection pools and JIT-compiles the hot path before anything is timed.
  await runWorkload(runOne, options.warmup, options.inflight, 0);
  const rows = [];
  if (options.sequential > 0) {
    const stats = await runWorkload(runOne, options.sequential, 1, 1_000_000);
    rows.push({ workload: 'sequential', system, ...stats });
  }
  if (options.concurrent > 0) {
    const stats = await runWorkload(runOne, options.concurrent, options.inflight, 2_000_000);
    rows.push({ workload: 'concurrent', system, ...stats });
  }
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

async function runBench(system, { start, runOne, stop }) {
  const options = JSON.parse(process.env.BENCH_OPTIONS);
  let rows;
  await start(process.env.BENCH_DATABASE_URL);
  try {
    rows = await measure(system, runOne, options);
  } finally {
    await stop();
  }
  process.stdout.write(RESULT_PREFIX + JSON.stringify(rows) + '\n');
  exitSoon(system);
}

function main(system, hooks) {
  runBench(system, hooks).catch((err) => {
    console.error(`[${system}] benchmark failed:`, err);
    process.exit(1);
  });
}

module.exports = { main, percentile, RESULT_PREFIX };
