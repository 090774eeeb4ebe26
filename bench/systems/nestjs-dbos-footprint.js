'use strict';
// One application of the footprint workload, run by bench/footprint.js under `node --expose-gc`:
//   bare: a Nest application context with one trivial provider;
//   dbos: the same plus DbosModule.forRoot({ database: { url }, queues: [{ name: 'q', workerConcurrency: 8 }] })
//         and a provider with a @Workflow of two @Step methods.
// Both load the library compiled to JavaScript (BENCH_FOOTPRINT_LIB, built by footprint.js) and
// the same @nestjs/* packages, resolved from the repository root; nothing else of the benchmark
// is loaded before the memory is read (counting.js, which loads every copy of pg it can find,
// is required afterwards). Plain JavaScript, so the decorators are applied with
// Reflect.decorate, as tsc's output does.
//
// Sequence: start; (dbos) 50 workflow calls; gc() x3; 5 s idle; gc() x3; read the memory and
// report it over IPC. Then, with BENCH_FOOTPRINT_IDLE=1 (one dbos run), from 31 s after
// start-up (and at least 11 s after the warm-up), count the statements it sends over the idle
// window, with counting.js and with pg_stat_database's xact_commit for its database, and report
// those.
const fs = require('node:fs');
const path = require('node:path');
const { setImmediate } = require('node:timers');

const ROOT = path.resolve(__dirname, '..', '..');
const fromRoot = (name) => require(require.resolve(name, { paths: [ROOT] }));

fromRoot('reflect-metadata');
const { Injectable, Module } = fromRoot('@nestjs/common');
const { NestFactory } = fromRoot('@nestjs/core');

const VARIANT = process.env.BENCH_FOOTPRINT_VARIANT;
const WARMUP = 50;
const SETTLE_MS = 5_000;
const WINDOW_MS = Number(process.env.BENCH_FOOTPRINT_WINDOW_MS ?? 30_000);
// An idle backend flushes its counters to pg_stat_database up to 10 s after its last
// transaction (PGSTAT_IDLE_INTERVAL), so the idle window starts that long after the warm-up:
// otherwise the warm-up's commits would show up in the cross-check.
const STATS_FLUSH_MS = 11_000;
// Once the executor has heartbeated for a whole lease (executorLeaseMs, 30 s by default), each
// heartbeat also runs the adoption scan; the window starts after that, to see the steady state.
const LEASE_MS = 30_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function collect() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

// The distinct packages among the loaded modules.
function loadedPackages() {
  const names = new Set();
  for (const file of Object.keys(require.cache)) {
    const at = file.lastIndexOf(`node_modules${path.sep}`);
    if (at < 0) continue;
    const parts = file.slice(at + 'node_modules/'.length).split(path.sep);
    names.add(parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]);
  }
  return [...names].sort();
}

class Trivial {
  ping() {
    return 'pong';
  }
}
Reflect.decorate([Injectable()], Trivial);

function appModule() {
  if (VARIANT === 'bare') {
    class BareModule {}
    Reflect.decorate([Module({ providers: [Trivial] })], BareModule);
    return { module: BareModule };
  }
  const { DbosModule, Workflow, Step } = require(process.env.BENCH_FOOTPRINT_LIB);
  class FootprintService {
    async a() {
      return 1;
    }
    async b() {
      return 2;
    }
    async wf(i) {
      await this.a();
      await this.b();
      return i;
    }
  }
  for (const [method, decorator] of [
    ['a', Step()],
    ['b', Step()],
    ['wf', Workflow()],
  ]) {
    const descriptor = Object.getOwnPropertyDescriptor(FootprintService.prototype, method);
    Object.defineProperty(FootprintService.prototype, method, Reflect.decorate([decorator], FootprintService.prototype, method, descriptor));
  }
  Reflect.decorate([Injectable()], FootprintService);
  class DbosFootprintModule {}
  const url = process.env.BENCH_DATABASE_URL;
  Reflect.decorate(
    [
      Module({
        imports: [DbosModule.forRoot({ database: { url }, queues: [{ name: 'q', workerConcurrency: 8 }] })],
        providers: [Trivial, FootprintService],
      }),
    ],
    DbosFootprintModule,
  );
  return { module: DbosFootprintModule, service: FootprintService };
}

// Linux splits the resident set into anonymous memory (heaps, stacks) and file pages (the node
// binary and shared libraries); elsewhere these are left out.
function rssParts() {
  let status;
  try {
    status = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return {};
  }
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rssAnon: kib('RssAnon'), rssFile: kib('RssFile') };
}

// pg_stat_database's commits of the bench database, read over a connection to another
// database of the server so that the reads are not counted in it.
async function xactCommits(probe, database) {
  const { rows } = await probe.query('SELECT xact_commit FROM pg_stat_database WHERE datname = $1', [database]);
  return Number(rows[0].xact_commit);
}

async function idleStatements(windowStartsAt) {
  const counting = require('../counting');
  const { Client } = fromRoot('pg');
  const url = new URL(process.env.BENCH_DATABASE_URL);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const probe = counting.uncounted(new Client({ connectionString: url.toString() }));
  await probe.connect();
  try {
    await sleep(windowStartsAt - Date.now());
    const commitsBefore = await xactCommits(probe, database);
    const texts = new Map();
    const stop = counting.onStatement((text) => {
      const key = text.replace(/\s+/g, ' ').slice(0, 60);
      texts.set(key, (texts.get(key) ?? 0) + 1);
    });
    const before = counting.snapshot();
    const started = Date.now();
    await sleep(WINDOW_MS);
    const seconds = (Date.now() - started) / 1000;
    const after = counting.snapshot();
    stop();
    // Both readings lag the backends' flushes alike, so while the app idles steadily the delta
    // covers about as many seconds as the window.
    const commitsAfter = await xactCommits(probe, database);
    const perSec = (n) => Math.round((n / seconds) * 100) / 100;
    return {
      windowSec: Math.round(seconds * 10) / 10,
      statements: after.statements - before.statements,
      commits: after.commits - before.commits,
      statementsPerSec: perSec(after.statements - before.statements),
      commitsPerSec: perSec(after.commits - before.commits),
      xactCommitPerSec: perSec(commitsAfter - commitsBefore),
      byText: [...texts].map(([text, count]) => ({ text, count })).sort((x, y) => y.count - x.count),
      rssAfterWindow: process.memoryUsage().rss,
    };
  } finally {
    await probe.end();
  }
}

async function main() {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  const started = Date.now();
  const { module, service } = appModule();
  const app = await NestFactory.createApplicationContext(module, { logger: ['error', 'warn'] });
  const startupMs = Date.now() - started;
  let warmedUpAt = Date.now();
  if (service) {
    const instance = app.get(service);
    for (let i = 0; i < WARMUP; i++) {
      if ((await instance.wf(i)) !== i) throw new Error(`workflow ${i} returned something else`);
    }
    warmedUpAt = Date.now();
  }
  await collect();
  await sleep(SETTLE_MS);
  await collect();
  const memory = process.memoryUsage();
  const packages = loadedPackages();
  process.send({
    memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external, ...rssParts() },
    startupMs,
    modules: Object.keys(require.cache).length,
    packages,
  });
  const windowStartsAt = Math.max(warmedUpAt + STATS_FLUSH_MS, started + LEASE_MS + 1_000);
  const idle = service && process.env.BENCH_FOOTPRINT_IDLE === '1' ? await idleStatements(windowStartsAt) : null;
  await app.close();
  process.send({ idle }, () => process.exit(0));
}

main().catch((err) => {
  console.error('footprint benchmark failed:', err);
  process.exit(1);
});
