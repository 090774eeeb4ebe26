/**
 * Chaos run: several worker processes share one queue while they are SIGKILLed, restarted
 * (sometimes under a new executor id, so their work must be adopted by lease) and cut off from
 * the database, under a steady stream of enqueued workflows. Afterwards every workflow must have
 * completed exactly once with its own input as output, every step's side effect must exist exactly
 * once, and the queue's global concurrency must never have been exceeded.
 *
 *   npm run chaos -- [--minutes N] [--workers K] [--rate R] [--drain-minutes D] [--keep]
 *
 * Talks only to the local Postgres (DATABASE_URL, else an embedded server on port 54332) and to
 * its own child processes. Prints progress on stderr, diagnostics and exactly one summary line on
 * stdout, and exits 0 only when nothing was lost or duplicated and the limits held.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { startEmbeddedPostgres, WorkflowClient, type EmbeddedPostgresHandle } from '../../lib';
import {
  ORCHESTRATOR_APPLICATION_NAME,
  QUEUE,
  STEPS,
  WORKFLOW_NAME,
  withApplicationName,
  workerApplicationPrefix,
  type ChaosInput,
} from './shared';

const ROOT = path.resolve(__dirname, '..', '..');
const EMBEDDED_DIR = path.join(ROOT, '.dbos', 'chaos-pgdata');
const EMBEDDED_PORT = 54332;
const WORKER_READY_TIMEOUT_MS = 90_000;
const PROGRESS_EVERY_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  minutes: number;
  workers: number;
  rate: number;
  drainMinutes: number;
  keep: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '1' },
      workers: { type: 'string', default: '3' },
      rate: { type: 'string', default: '20' },
      'drain-minutes': { type: 'string', default: '3' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('usage: npm run chaos -- [--minutes N] [--workers K] [--rate R] [--drain-minutes D] [--keep]\n');
    process.exit(0);
  }
  const number = (name: string, raw: string, min: number, integer = false): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      process.stderr.write(`chaos: --${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${raw}"\n`);
      process.exit(2);
    }
    return value;
  };
  return {
    minutes: number('minutes', values.minutes!, 0),
    workers: number('workers', values.workers!, 1, true),
    rate: number('rate', values.rate!, 0.1),
    drainMinutes: number('drain-minutes', values['drain-minutes']!, 0.1),
    keep: values.keep!,
  };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const t0 = Date.now();
function progress(message: string): void {
  process.stderr.write(`[chaos +${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

/** The largest number of [start, end] intervals that overlap at one instant. */
function maxOverlap(intervals: [number, number][]): number {
  const events = intervals.flatMap(([s, e]) => [[s, 1] as const, [e, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let max = 0;
  for (const [, delta] of events) {
    current += delta;
    max = Math.max(max, current);
  }
  return max;
}

/** Runs `fn` over `items` with at most `width` calls in flight. */
async function forEachLimited<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** The last fatal error a worker reported in its log (see worker.ts), else the log's last lines. */
function lastFatal(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return '(no log)';
  }
  const start = text.lastIndexOf('FATAL ');
  if (start >= 0) {
    const end = text.indexOf('END FATAL', start);
    return text.slice(start, end < 0 ? undefined : end).trimEnd();
  }
  return text.split('\n').slice(-15).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Workers

/** Every child ever started, so that none outlives the run whatever way it ends. */
const children = new Set<ChildProcess>();

class WorkerSlot {
  executorId: string;
  child?: ChildProcess;
  ready = false;
  /** Set while we are the ones stopping it, so its exit is not counted as a crash. */
  private expectingExit = false;
  private exited?: Promise<void>;
  private renames = 0;
  readonly logFile: string;

  constructor(
    readonly index: number,
    private readonly run: ChaosRun,
  ) {
    this.executorId = `chaos-${index}`;
    this.logFile = path.join(run.logDir, `worker-${index}.log`);
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the worker under its executor id (a new one with `renew`); resolves once it is ready. */
  start(renew = false): Promise<void> {
    if (this.alive) throw new Error(`worker ${this.index} is already running`);
    if (this.run.shuttingDown) return Promise.reject(new Error('the run is stopping'));
    if (renew) this.executorId = `chaos-${this.index}-r${++this.renames}`;
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n===== ${new Date().toISOString()} start ${this.executorId} =====\n`);
    const child = spawn(process.execPath, ['--trace-uncaught', '-r', 'ts-node/register/transpile-only', path.join(__dirname, 'worker.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        NO_COLOR: '1',
        DATABASE_URL: withApplicationName(this.run.baseUrl, `${workerApplicationPrefix(this.run.schema)}${this.index}`),
        CHAOS_SCHEMA: this.run.schema,
        EXECUTOR_ID: this.executorId,
      },
      stdio: ['ignore', log, log, 'ipc'],
    });
    fs.closeSync(log);
    children.add(child);
    this.child = child;
    this.ready = false;
    this.expectingExit = false;
    const executorId = this.executorId;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        children.delete(child);
        if (this.child === child) this.ready = false;
        if (!this.expectingExit && !this.run.shuttingDown) this.run.onCrash(this, executorId, code, signal);
        resolve();
      }),
    );
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${executorId} not ready within ${WORKER_READY_TIMEOUT_MS} ms`)), WORKER_READY_TIMEOUT_MS);
      child.on('message', (message: { type?: string }) => {
        if (message?.type !== 'ready') return;
        clearTimeout(timer);
        if (this.child === child) this.ready = true;
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`worker ${executorId} exited before it was ready (code ${code}, signal ${signal})`));
      });
    });
  }

  /** SIGKILLs it and waits for the exit. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.expectingExit = true;
    this.child!.kill('SIGKILL');
    await this.exited;
  }
}

// ---------------------------------------------------------------------------------------------
// The run

interface Counters {
  started: number;
  enqueueRetries: number;
  enqueueFailures: number;
  kills: number;
  newIdRestarts: number;
  connectionKills: number;
  terminatedConnections: number;
  crashes: number;
}

class ChaosRun {
  readonly schema = `chaos_${randomBytes(4).toString('hex')}`;
  readonly logDir: string;
  baseUrl = '';
  shuttingDown = false;
  private embedded?: EmbeddedPostgresHandle;
  private admin?: Client;
  private client?: WorkflowClient;
  private slots: WorkerSlot[] = [];
  /** Slots being restarted (killed and waiting for their restart), with the restart's promise. */
  private readonly restarting = new Map<WorkerSlot, Promise<void>>();
  /** Every workflow enqueued (or maybe enqueued: the outcome of a failed attempt is unknown), by id. */
  readonly inputs = new Map<string, ChaosInput>();
  /** Ids whose enqueue was acknowledged. */
  readonly acknowledged = new Set<string>();
  readonly counters: Counters = {
    started: 0, enqueueRetries: 0, enqueueFailures: 0, kills: 0, newIdRestarts: 0, connectionKills: 0, terminatedConnections: 0, crashes: 0,
  };
  readonly diagnostics: string[] = [];
  /** Worker crashes by their first line (the first of each kind is described in full). */
  private readonly crashKinds = new Map<string, number>();
  private chaosUntil = 0;

  constructor(private readonly options: Options) {
    this.logDir = path.join(ROOT, '.dbos', 'chaos-logs', this.schema);
  }

  async execute(): Promise<boolean> {
    const { options } = this;
    fs.mkdirSync(this.logDir, { recursive: true });
    await this.openDatabase();
    progress(`schema ${this.schema}, worker logs in ${path.relative(ROOT, this.logDir)}`);
    await this.createTables();

    this.slots = Array.from({ length: options.workers }, (_, i) => new WorkerSlot(i + 1, this));
    await this.slots[0].start(); // applies the migrations alone
    await Promise.all(this.slots.slice(1).map((slot) => slot.start()));
    progress(`${options.workers} worker(s) ready`);
    this.client = await WorkflowClient.connect({
      database: { url: withApplicationName(this.baseUrl, ORCHESTRATOR_APPLICATION_NAME), poolSize: 8 },
      schema: this.schema,
    });

    this.chaosUntil = Date.now() + options.minutes * 60_000;
    progress(`chaos for ${options.minutes} minute(s): ${options.rate} workflows/s, ${options.workers} workers`);
    const reporter = setInterval(() => void this.reportProgress(), PROGRESS_EVERY_MS);
    try {
      await Promise.all([this.enqueueLoop(), this.chaosLoop()]);
    } finally {
      clearInterval(reporter);
    }

    progress(`chaos over; enqueued ${this.counters.started}. Bringing every worker up and draining`);
    await this.allWorkersUp();
    const drained = await this.drain();
    await this.allWorkersUp(); // a crash while draining would also be a finding
    return this.verify(drained);
  }

  // ----- setup

  private async openDatabase(): Promise<void> {
    if (process.env.DATABASE_URL) {
      this.baseUrl = process.env.DATABASE_URL;
      progress(`using DATABASE_URL ${redact(this.baseUrl)}`);
    } else {
      progress(`DATABASE_URL is not set: starting an embedded Postgres in ${path.relative(ROOT, EMBEDDED_DIR)} on port ${EMBEDDED_PORT}`);
      this.embedded = await startEmbeddedPostgres({ dir: EMBEDDED_DIR, port: EMBEDDED_PORT, log: (m) => progress(`embedded postgres: ${m}`) });
      this.baseUrl = this.embedded.url;
    }
    this.admin = new Client({ connectionString: withApplicationName(this.baseUrl, ORCHESTRATOR_APPLICATION_NAME) });
    this.admin.on('error', (err) => progress(`orchestrator connection error: ${err.message}`));
    await this.admin.connect();
  }

  private async createTables(): Promise<void> {
    const s = `"${this.schema}"`;
    await this.sql(`CREATE SCHEMA ${s}`);
    // No keys: a duplicate must be countable, not an error that changes the workflow's course.
    await this.sql(`CREATE TABLE ${s}.effects (workflow_id text NOT NULL, step int NOT NULL, executor text, at timestamptz DEFAULT clock_timestamp())`);
    await this.sql(`CREATE TABLE ${s}.runs (workflow_id text NOT NULL, started_at timestamptz, ended_at timestamptz, executor text)`);
    await this.sql(`CREATE INDEX ON ${s}.effects (workflow_id)`);
    await this.sql(`CREATE INDEX ON ${s}.runs (workflow_id)`);
  }

  private async sql<R = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<R[]> {
    return (await this.admin!.query(text, values)).rows as R[];
  }

  // ----- chaos phase

  private async enqueueLoop(): Promise<void> {
    const start = Date.now();
    let seq = 0;
    while (!this.shuttingDown && Date.now() < this.chaosUntil) {
      const due = Math.floor(((Date.now() - start) * this.options.rate) / 1000);
      while (seq < due && !this.shuttingDown) await this.enqueue(seq++);
      const nextDueAt = start + ((seq + 1) * 1000) / this.options.rate;
      await sleep(Math.min(nextDueAt, this.chaosUntil) - Date.now());
    }
  }

  private async enqueue(seq: number): Promise<void> {
    const workflowId = `chaos-wf-${seq}`;
    const input: ChaosInput = { seq, pauses: Array.from({ length: STEPS }, () => randomInt(20, 100)) };
    this.inputs.set(workflowId, input);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client!.enqueue({ workflowName: WORKFLOW_NAME, queue: QUEUE.name, workflowId }, input);
        this.acknowledged.add(workflowId);
        this.counters.started++;
        return;
      } catch (err) {
        // Same id again: if the first attempt did insert, this returns the existing workflow.
        if (attempt >= 10) {
          this.counters.enqueueFailures++;
          this.diagnostics.push(`enqueue of ${workflowId} failed ${attempt} times: ${(err as Error).message}`);
          return;
        }
        this.counters.enqueueRetries++;
        await sleep(100 * attempt);
      }
    }
  }

  private async chaosLoop(): Promise<void> {
    for (;;) {
      const wait = randomInt(2_000, 6_000);
      if (this.shuttingDown || Date.now() + wait >= this.chaosUntil) break;
      await sleep(wait);
      if (this.shuttingDown) break;
      try {
        if (Math.random() < 0.5) await this.killAWorker();
        else await this.killConnections();
      } catch (err) {
        this.diagnostics.push(`chaos action failed: ${(err as Error).message}`);
        progress(`chaos action failed: ${(err as Error).message}`);
      }
    }
  }

  private async killAWorker(): Promise<void> {
    const candidates = this.slots.filter((slot) => slot.alive && !this.restarting.has(slot));
    if (candidates.length === 0) return;
    const slot = candidates[randomInt(0, candidates.length - 1)];
    const killedId = slot.executorId;
    await slot.kill();
    this.counters.kills++;
    const delay = randomInt(0, 3_000);
    const renew = Math.random() < 0.25;
    if (renew) this.counters.newIdRestarts++;
    const restart = sleep(delay)
      .then(() => slot.start(renew))
      .then(() => progress(`worker ${slot.index}: restarted ${renew ? `as ${slot.executorId}` : `(${slot.executorId})`}`))
      .catch((err: Error) => progress(`worker ${slot.index}: restart: ${err.message}`))
      .finally(() => this.restarting.delete(slot));
    this.restarting.set(slot, restart);
    progress(`SIGKILL ${killedId}; restart in ${delay} ms${renew ? ' under a new executor id' : ''}`);
  }

  private async killConnections(): Promise<void> {
    // Only this run's worker connections. The targets are chosen first and pg_terminate_backend
    // runs in the select list: in a WHERE clause the planner may call it before the other
    // conditions, and then it terminates every backend of the server.
    const rows = await this.sql<{ application_name: string; terminated: boolean }>(
      `WITH targets AS MATERIALIZED (
         SELECT pid, application_name FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND application_name <> $1 AND starts_with(application_name, $2)
       )
       SELECT application_name, pg_terminate_backend(pid) AS terminated FROM targets`,
      [ORCHESTRATOR_APPLICATION_NAME, workerApplicationPrefix(this.schema)],
    );
    const terminated = rows.filter((r) => r.terminated).length;
    this.counters.connectionKills++;
    this.counters.terminatedConnections += terminated;
    progress(`terminated ${terminated} worker connection(s)`);
  }

  private async reportProgress(): Promise<void> {
    try {
      const [counts] = await this.sql<{ success: number; pending: number; enqueued: number; other: number }>(
        `SELECT count(*) FILTER (WHERE status = 'SUCCESS')::int AS success, count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
                count(*) FILTER (WHERE status = 'ENQUEUED')::int AS enqueued,
                count(*) FILTER (WHERE status NOT IN ('SUCCESS', 'PENDING', 'ENQUEUED'))::int AS other
           FROM "${this.schema}".workflow_status WHERE queue_name = $1`,
        [QUEUE.name],
      );
      const c = this.counters;
      progress(
        `enqueued=${c.started} success=${counts.success} pending=${counts.pending} queued=${counts.enqueued} other=${counts.other} ` +
          `kills=${c.kills} connection-kills=${c.connectionKills} crashes=${c.crashes} workers-up=${this.slots.filter((s) => s.ready).length}/${this.slots.length}`,
      );
    } catch (err) {
      progress(`progress query failed: ${(err as Error).message}`);
    }
  }

  /** A worker exited without being killed by us: a finding. It is restarted (outside of the drain it would be anyway). */
  onCrash(slot: WorkerSlot, executorId: string, code: number | null, signal: NodeJS.Signals | null): void {
    this.counters.crashes++;
    const fatal = lastFatal(slot.logFile);
    const headline = fatal.split('\n')[0];
    this.crashKinds.set(headline, (this.crashKinds.get(headline) ?? 0) + 1);
    if (this.crashKinds.get(headline) === 1) {
      this.diagnostics.push(`worker ${executorId} exited by itself (code ${code}, signal ${signal}) (${path.relative(ROOT, slot.logFile)}):\n${fatal}`);
    }
    progress(`worker ${executorId} exited by itself (code ${code}, signal ${signal}): ${headline}`);
    if (this.restarting.has(slot)) return;
    const restart = sleep(1_000)
      .then(() => slot.start())
      .catch((err: Error) => progress(`worker ${slot.index}: restart after crash: ${err.message}`))
      .finally(() => this.restarting.delete(slot));
    this.restarting.set(slot, restart);
  }

  // ----- drain and verification

  /** Waits for pending restarts, then (re)starts any worker that is down, until all are ready. */
  private async allWorkersUp(): Promise<void> {
    for (let round = 0; round < 5; round++) {
      await Promise.all(this.restarting.values());
      const down = this.slots.filter((slot) => !slot.alive);
      await Promise.all(
        down.map((slot) => slot.start().catch((err: Error) => this.diagnostics.push(`worker ${slot.index} did not come up: ${err.message}`))),
      );
      // A worker still booting (restarted just before the chaos stopped) is alive but not yet ready.
      const deadline = Date.now() + WORKER_READY_TIMEOUT_MS;
      while (this.slots.some((slot) => slot.alive && !slot.ready) && Date.now() < deadline) await sleep(100);
      if (this.slots.every((slot) => slot.ready) && this.restarting.size === 0) return;
    }
    this.diagnostics.push(`not every worker could be brought up: ${this.slots.map((s) => `${s.executorId}:${s.ready ? 'up' : 'down'}`).join(' ')}`);
  }

  /** Waits (bounded) until every enqueued workflow has reached a final state; returns the drain time in ms. */
  private async drain(): Promise<number> {
    const start = Date.now();
    const deadline = start + this.options.drainMinutes * 60_000;
    let lastReport = 0;
    for (;;) {
      const [row] = await this.sql<{ done: number; success: number }>(
        `SELECT count(*) FILTER (WHERE status NOT IN ('ENQUEUED', 'PENDING'))::int AS done, count(*) FILTER (WHERE status = 'SUCCESS')::int AS success
           FROM "${this.schema}".workflow_status WHERE workflow_id = ANY($1::text[])`,
        [[...this.inputs.keys()]],
      );
      if (row.done >= this.counters.started) return Date.now() - start;
      if (Date.now() > deadline) {
        this.diagnostics.push(`drain timed out after ${this.options.drainMinutes} minute(s): ${row.done}/${this.counters.started} workflows finished`);
        return Date.now() - start;
      }
      if (Date.now() - lastReport > 5_000) {
        lastReport = Date.now();
        progress(`draining: ${row.success} succeeded, ${row.done}/${this.counters.started} finished`);
      }
      await sleep(500);
    }
  }

  private async verify(drainMs: number): Promise<boolean> {
    const s = `"${this.schema}"`;
    const ids = [...this.inputs.keys()];
    const statuses = await this.sql<{ workflow_id: string; status: string; executor_id: string | null; recovery_attempts: number; error: string | null }>(
      `SELECT workflow_id, status, executor_id, recovery_attempts::int AS recovery_attempts, error FROM ${s}.workflow_status WHERE workflow_id = ANY($1::text[])`,
      [ids],
    );
    const statusOf = new Map(statuses.map((r) => [r.workflow_id, r]));
    const effects = await this.sql<{ workflow_id: string; step: number; n: number }>(
      `SELECT workflow_id, step, count(*)::int AS n FROM ${s}.effects GROUP BY 1, 2`,
    );
    const runs = await this.sql<{ workflow_id: string; s: string | null; e: string | null; n: number }>(
      `SELECT workflow_id, count(*)::int AS n, extract(epoch FROM min(started_at)) * 1000 AS s, extract(epoch FROM max(ended_at)) * 1000 AS e
         FROM ${s}.runs GROUP BY 1`,
    );
    const intervals = await this.sql<{ s: string; e: string }>(
      `SELECT extract(epoch FROM started_at) * 1000 AS s, extract(epoch FROM ended_at) * 1000 AS e FROM ${s}.runs WHERE ended_at IS NOT NULL`,
    );

    // An enqueue whose attempts all failed may still have inserted: then it counts as started.
    const startedIds = ids.filter((id) => statusOf.has(id) || this.acknowledged.has(id));
    const started = startedIds.length;
    const lostIds = new Set<string>();
    const notSuccess: string[] = [];
    for (const id of startedIds) {
      const row = statusOf.get(id);
      if (!row) {
        lostIds.add(id);
        this.diagnostics.push(`${id} was enqueued (acknowledged) but has no workflow_status row`);
      } else if (row.status !== 'SUCCESS') {
        lostIds.add(id);
        notSuccess.push(id);
      }
    }

    // Effects: exactly one row per (workflow, step 1..STEPS).
    let duplicated = 0;
    const effectCount = new Map<string, number>();
    const duplicateSamples: string[] = [];
    for (const e of effects) {
      effectCount.set(`${e.workflow_id}#${e.step}`, e.n);
      if (e.n > 1) {
        duplicated += e.n - 1;
        if (duplicateSamples.length < 10) duplicateSamples.push(`${e.workflow_id} step ${e.step} x${e.n}`);
      }
      if (!this.inputs.has(e.workflow_id) || e.step < 1 || e.step > STEPS) {
        this.diagnostics.push(`unexpected effect row: ${e.workflow_id} step ${e.step}`);
        duplicated += 1;
      }
    }
    const missingSteps: string[] = [];
    for (const id of startedIds) {
      for (let step = 1; step <= STEPS; step++) {
        if (!effectCount.has(`${id}#${step}`)) {
          lostIds.add(id);
          if (missingSteps.length < 10) missingSteps.push(`${id} step ${step}`);
        }
      }
    }
    // Run bracket (begin/end transactions): exactly once each.
    const runOf = new Map(runs.map((r) => [r.workflow_id, r]));
    for (const r of runs) {
      if (r.n > 1) {
        duplicated += r.n - 1;
        if (duplicateSamples.length < 10) duplicateSamples.push(`${r.workflow_id} begin x${r.n}`);
      }
    }
    for (const id of startedIds) {
      const run = runOf.get(id);
      if (!run || run.e === null) lostIds.add(id);
    }

    // Outputs: each successful workflow returns its own input.
    let wrongOutput = 0;
    const wrongSamples: string[] = [];
    const successes = startedIds.filter((id) => statusOf.get(id)?.status === 'SUCCESS');
    await forEachLimited(successes, 8, async (id) => {
      try {
        const result = await this.client!.retrieve<ChaosInput>(id).getResult({ timeoutMs: 5_000 });
        if (JSON.stringify(result) !== JSON.stringify(this.inputs.get(id))) {
          wrongOutput++;
          if (wrongSamples.length < 10) wrongSamples.push(`${id}: got ${JSON.stringify(result)}, expected ${JSON.stringify(this.inputs.get(id))}`);
        }
      } catch (err) {
        wrongOutput++;
        if (wrongSamples.length < 10) wrongSamples.push(`${id}: getResult failed: ${(err as Error).message}`);
      }
    });

    const completed = successes.length;
    const concurrency = maxOverlap(intervals.map((r) => [Number(r.s), Number(r.e)]));
    const lost = lostIds.size;

    if (notSuccess.length > 0) {
      const byStatus = new Map<string, number>();
      for (const id of notSuccess) byStatus.set(statusOf.get(id)!.status, (byStatus.get(statusOf.get(id)!.status) ?? 0) + 1);
      this.diagnostics.push(`not SUCCESS: ${[...byStatus].map(([k, v]) => `${v} ${k}`).join(', ')}`);
      await this.describeStuck(notSuccess.slice(0, 15), statusOf);
    }
    if (missingSteps.length > 0) this.diagnostics.push(`missing effects (first ${missingSteps.length}): ${missingSteps.join('; ')}`);
    if (duplicateSamples.length > 0) this.diagnostics.push(`duplicated effects (first ${duplicateSamples.length}): ${duplicateSamples.join('; ')}`);
    if (wrongSamples.length > 0) this.diagnostics.push(`wrong outputs (first ${wrongSamples.length}): ${wrongSamples.join('; ')}`);
    if (concurrency > QUEUE.concurrency) this.diagnostics.push(`queue concurrency exceeded: ${concurrency} runs overlapped (limit ${QUEUE.concurrency})`);

    if (this.crashKinds.size > 0) {
      this.diagnostics.push(`worker crashes by kind: ${[...this.crashKinds].map(([k, n]) => `${n} x ${k}`).join(' | ')}`);
    }
    const recovered = statuses.filter((r) => r.recovery_attempts > 0).length;
    const [executors] = await this.sql<{ n: number }>(`SELECT count(DISTINCT executor)::int AS n FROM ${s}.effects`);
    progress(
      `${recovered} workflow(s) were recovered or adopted at least once; effects were written by ${executors.n} executor id(s); ` +
        `${this.counters.terminatedConnections} connection(s) terminated; ${this.counters.enqueueRetries} enqueue retries; drain took ${(drainMs / 1000).toFixed(1)} s`,
    );

    const ok =
      started > 0 && lost === 0 && duplicated === 0 && wrongOutput === 0 && completed === started && concurrency <= QUEUE.concurrency &&
      this.counters.crashes === 0 && this.counters.enqueueFailures === 0;
    for (const line of this.diagnostics) process.stdout.write(`chaos: diagnostic: ${line}\n`);
    if (!ok) process.stdout.write(`chaos: diagnostic: worker logs in ${path.relative(ROOT, this.logDir)}\n`);
    const c = this.counters;
    printSummary(
      `chaos: minutes=${this.options.minutes} workers=${this.options.workers} started=${started} completed=${completed} ` +
        `kills=${c.kills} new-id-restarts=${c.newIdRestarts} connection-kills=${c.connectionKills} crashes=${c.crashes} ` +
        `lost=${lost} duplicated=${duplicated} wrong-output=${wrongOutput} max-concurrency=${concurrency}/${QUEUE.concurrency} ` +
        `result=${ok ? 'PASS' : 'FAIL'}`,
    );
    return ok;
  }

  /** What the database says about workflows that did not finish. */
  private async describeStuck(
    ids: string[],
    statusOf: Map<string, { status: string; executor_id: string | null; recovery_attempts: number; error: string | null }>,
  ): Promise<void> {
    const s = `"${this.schema}"`;
    const heartbeats = await this.sql<{ executor_id: string; age: string }>(
      `SELECT executor_id, ($1::bigint - heartbeat_at)::bigint AS age FROM ${s}.executors`,
      [Date.now()],
    );
    this.diagnostics.push(`executors (heartbeat age ms): ${heartbeats.map((h) => `${h.executor_id}=${h.age}`).join(' ')}`);
    this.diagnostics.push(`live workers: ${this.slots.map((slot) => `${slot.executorId}${slot.ready ? '' : '(down)'}`).join(' ')}`);
    let detailed = false;
    for (const id of ids) {
      const row = statusOf.get(id)!;
      const [steps] = await this.sql<{ n: number; steps: string | null }>(
        `SELECT count(*)::int AS n,
                string_agg(step_id || ':' || step_name || CASE WHEN error IS NULL THEN '' ELSE '(error)' END, ' ' ORDER BY step_id) AS steps
           FROM ${s}.operation_outputs WHERE workflow_id = $1`,
        [id],
      ).catch((err: Error) => [{ n: -1, steps: err.message }]);
      this.diagnostics.push(
        `${id}: status=${row.status} executor=${row.executor_id} recovery_attempts=${row.recovery_attempts} checkpoints=${steps.n} [${steps.steps ?? ''}]` +
          (row.error ? ` error=${describeError(row.error, !detailed)}` : ''),
      );
      if (row.error) detailed = true;
    }
  }

  // ----- teardown

  /** Set when the run passed: its worker logs are not worth keeping. */
  passed = false;

  async teardown(): Promise<void> {
    this.shuttingDown = true;
    await withTimeout(this.client?.close() ?? Promise.resolve(), 10_000, 'closing the client').catch((err: Error) => progress(err.message));
    killAllChildren();
    await Promise.all(this.slots.map((slot) => slot.kill().catch(() => undefined)));
    if (this.admin) {
      if (!this.options.keep) {
        await withTimeout(this.sql(`SET lock_timeout = '15s'`).then(() => this.sql(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`)), 30_000, 'dropping the schema')
          .then(() => progress(`dropped schema ${this.schema}`))
          .catch((err: Error) => progress(`could not drop schema ${this.schema}: ${err.message}`));
      } else {
        progress(`kept schema ${this.schema}`);
      }
      await this.admin.end().catch(() => undefined);
    }
    if (this.passed && !this.options.keep) fs.rmSync(this.logDir, { recursive: true, force: true });
    if (this.embedded) {
      await this.embedded.stop().catch((err: Error) => progress(`stopping the embedded Postgres: ${err.message}`));
      progress('embedded Postgres stopped');
    }
  }
}

let summaryPrinted = false;
/** The one summary line (later attempts, e.g. after an interrupt, are dropped). */
function printSummary(line: string): void {
  if (summaryPrinted) return;
  summaryPrinted = true;
  process.stdout.write(`${line}\n`);
}

function killAllChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** A recorded error (serialized by the library): name and message, and with `stack` its stack too. */
function describeError(recorded: string, stack: boolean): string {
  try {
    const parsed = JSON.parse(recorded) as { v?: { name?: string; message?: string; stack?: string } };
    const v = parsed.v ?? {};
    return `${v.name}: ${v.message}${stack && v.stack ? `\n${v.stack.split('\n').slice(1, 16).join('\n')}` : ''}`;
  } catch {
    return recorded.slice(0, 500);
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

// ---------------------------------------------------------------------------------------------
// Entry point

async function main(): Promise<void> {
  const options = parseOptions();
  const run = new ChaosRun(options);
  let tearingDown: Promise<void> | undefined;
  const teardown = () => (tearingDown ??= run.teardown());

  // Whatever happens, no child outlives us.
  process.on('exit', killAllChildren);
  const interrupt = (signal: NodeJS.Signals) => {
    progress(`${signal}: stopping`);
    printSummary(`chaos: interrupted by ${signal} result=FAIL`);
    void withTimeout(teardown(), 60_000, 'teardown').finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  process.once('SIGHUP', interrupt);

  // Bounded: chaos, then at most the drain, plus room for start-up, verification and teardown.
  const hardLimitMs = (options.minutes + options.drainMinutes) * 60_000 + 5 * 60_000;
  const watchdog = setTimeout(() => {
    process.stdout.write(`chaos: diagnostic: the run exceeded its hard limit of ${Math.round(hardLimitMs / 60_000)} minutes\n`);
    printSummary(`chaos: the run exceeded its time limit result=FAIL`);
    void withTimeout(teardown(), 60_000, 'teardown').finally(() => process.exit(1));
  }, hardLimitMs);
  watchdog.unref();

  let ok = false;
  try {
    ok = await run.execute();
    run.passed = ok;
  } catch (err) {
    if (!summaryPrinted) {
      for (const line of run.diagnostics) process.stdout.write(`chaos: diagnostic: ${line}\n`);
      process.stdout.write(`chaos: diagnostic: ${(err as Error).stack ?? String(err)}\n`);
    }
    printSummary(`chaos: minutes=${options.minutes} workers=${options.workers} aborted by an error result=FAIL`);
  } finally {
    await withTimeout(teardown(), 60_000, 'teardown').catch((err: Error) => progress(err.message));
  }
  process.exit(ok ? 0 : 1);
}

void main();
