#!/usr/bin/env node
'use strict';
// Benchmarks the same 3-step workflow on nestjs-dbos and on DBOS Transact, against one
// Postgres server, and prints latency and throughput side by side.
//
//   npm run bench [-- --json FILE] [--only SYSTEM] [--sequential N] [--concurrent N]
//                 [--inflight N] [--warmup N]
//
// Each system runs in its own child process (no shared event loop or GC), one after the
// other, on its own freshly created database.
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { spawn, spawnSync } = require('node:child_process');
const { parseArgs } = require('node:util');
const { RESULT_PREFIX } = require('./harness');

const BENCH_DIR = __dirname;
const ROOT = path.resolve(BENCH_DIR, '..');
const CHILD_TIMEOUT_MS = 5 * 60_000;

const SYSTEMS = {
  'nestjs-dbos': {
    database: 'bench_nestjs_dbos',
    // Run from the repo root so the TypeScript library in lib/ is imported as source.
    argv: ['-r', 'ts-node/register/transpile-only', 'bench/systems/nestjs-dbos.ts'],
  },
  'dbos-transact': {
    database: 'bench_dbos_transact',
    argv: ['bench/systems/dbos-transact.js'],
  },
};

function usage(message) {
  console.error(`${message}
usage: npm run bench -- [--json FILE] [--only ${Object.keys(SYSTEMS).join('|')}]
                        [--sequential N] [--concurrent N] [--inflight N] [--warmup N]`);
  process.exit(2);
}

function count(text, name) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) usage(`--${name} needs a whole number, got "${text}"`);
  return n;
}

function readOptions() {
  let values;
  try {
    values = parseArgs({
      options: {
        json: { type: 'string' },
        only: { type: 'string' },
        sequential: { type: 'string', default: '500' },
        concurrent: { type: 'string', default: '5000' },
        inflight: { type: 'string', default: '64' },
        warmup: { type: 'string', default: '50' },
      },
    }).values;
  } catch (err) {
    usage(err.message);
  }
  if (values.only && !SYSTEMS[values.only]) usage(`unknown system "${values.only}"`);
  const inflight = count(values.inflight, 'inflight');
  if (inflight < 1) usage('--inflight must be at least 1');
  return {
    json: values.json,
    systems: values.only ? [values.only] : Object.keys(SYSTEMS),
    workload: {
      sequential: count(values.sequential, 'sequential'),
      concurrent: count(values.concurrent, 'concurrent'),
      inflight,
      warmup: count(values.warmup, 'warmup'),
    },
  };
}

// The DBOS SDK is a dependency of the benchmark only, kept in bench/ so the library never
// depends on it; a fresh checkout installs it on first use.
function ensureBenchDependencies() {
  if (fs.existsSync(path.join(BENCH_DIR, 'node_modules', '@dbos-inc', 'dbos-sdk'))) return;
  console.error('installing benchmark dependencies in bench/ ...');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: BENCH_DIR, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm ci in bench/ failed');
}

// Runs one system's child process and returns the rows it reports. Its other stdout goes to
// stderr so that the table stays the only thing on stdout.
function runSystem(name, databaseUrl, workload) {
  const child = spawn(process.execPath, SYSTEMS[name].argv, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      // Also as DATABASE_URL, in case a system reads it on its own: it must see its own database.
      DATABASE_URL: databaseUrl,
      BENCH_DATABASE_URL: databaseUrl,
      BENCH_OPTIONS: JSON.stringify(workload),
    },
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  let rows = null;
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith(RESULT_PREFIX)) rows = JSON.parse(line.slice(RESULT_PREFIX.length));
    else process.stderr.write(`[${name}] ${line}\n`);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (rows) resolve(rows);
      else reject(new Error(`${name} reported no result (exit ${signal ?? code})`));
    });
  });
}

function printTable(rows) {
  const header = ['workload', 'system', 'wf/s', 'p50 ms', 'p99 ms'];
  const lines = rows.map((r) => [r.workload, r.system, r.workflowsPerSec.toFixed(1), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  // Text columns left-aligned, numbers right-aligned.
  const format = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(format(header));
  for (const line of lines) console.log(format(line));
}

function printRatios(rows) {
  for (const workload of ['sequential', 'concurrent']) {
    const ours = rows.find((r) => r.workload === workload && r.system === 'nestjs-dbos');
    const theirs = rows.find((r) => r.workload === workload && r.system === 'dbos-transact');
    if (!ours || !theirs) continue;
    const throughput = ours.workflowsPerSec / theirs.workflowsPerSec;
    const latency = ours.p50Ms / theirs.p50Ms;
    console.log(
      `${workload}: nestjs-dbos vs dbos-transact  throughput ${throughput.toFixed(2)}x (higher is better)` +
        `  p50 latency ${latency.toFixed(2)}x (lower is better)`,
    );
  }
}

async function main() {
  const options = readOptions();
  if (options.systems.includes('dbos-transact')) ensureBenchDependencies();
  const { openServer, recreateDatabase } = require('./postgres');
  const { workload } = options;
  const server = await openServer();
  console.error(`postgres: ${server.description}`);
  console.error(
    `workloads: sequential ${workload.sequential}, concurrent ${workload.concurrent} ` +
      `with ${workload.inflight} in flight, after ${workload.warmup} warm-up workflows`,
  );
  const rows = [];
  try {
    for (const name of options.systems) {
      const databaseUrl = await recreateDatabase(server.url, SYSTEMS[name].database);
      console.error(`running ${name} ...`);
      rows.push(...(await runSystem(name, databaseUrl, workload)));
    }
  } finally {
    await server.stop();
  }
  // Group by workload so both systems of a workload sit next to each other.
  const order = ['sequential', 'concurrent'];
  rows.sort((a, b) => order.indexOf(a.workload) - order.indexOf(b.workload));
  printTable(rows);
  printRatios(rows);
  if (options.json) fs.writeFileSync(options.json, JSON.stringify(rows, null, 2) + '\n');
}

main().catch((err) => {
  console.error(err.message ?? err);
  process.exit(1);
});
