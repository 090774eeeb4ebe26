/**
 * Chaos run: several worker processes share queues while they are SIGKILLed, stopped gracefully
 * (SIGTERM), restarted (sometimes under a new executor id, so their work must be adopted by
 * lease), cut off from the database (terminated connections; for the workers behind a fault
 * proxy also blackholes, resets, latency and refused connects), while the HTTP service that some
 * steps call goes down and up, and running parent workflows are cancelled and resumed, under a
 * steady stream of enqueued workflows. Afterwards every workflow must have completed exactly once
 * with the right output (or, for the HTTP workflows, failed because the service stayed down
 * through every attempt of its step), every side effect must exist exactly once, no error caused
 * by a shutdown may be recorded, and the queues' global and per-partition concurrency must never
 * have been exceeded. With `--pooler transaction` the workers reach the database through a
 * PgBouncer in transaction mode (LISTEN straight to Postgres).
 *
 *   npm run chaos -- [--minutes N] [--workers K] [--proxied P] [--rate R] [--drain-minutes D] [--pooler transaction] [--keep]
 *
 * Talks only to the local Postgres (DATABASE_URL, else an embedded server on a free port), to its
 * own child processes (PgBouncer included) and to its own proxies and HTTP service on 127.0.0.1.
 * Prints progress on stderr, diagnostics and exactly one summary line on stdout, and exits 0 only
 * when nothing was lost or duplicated and the limits held.
 */
import 'reflect-metadata';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { startEmbeddedPostgres, WorkflowClient, type EmbeddedPostgresHandle } from '../../lib';
import { DEFAULT_STATEMENT_TIMEOUT_MS } from '../../lib/dbos.constants';
import { deserialize } from '../../lib/serialization/value.codec';
import { ChildApp } from '../../test/support/child-app';
import { PgBouncer, pgbouncerMissing } from '../../test/support/pgbouncer';
import { freePort } from '../../test/support/ports';
import { WorkerProxies } from './proxies';
import { ChaosService } from './service';
import { BUSY_SESSIONS_SQL, describeSession, logLinesAbout, type SessionRow } from './stuck';
import {
  EXECUTOR_LEASE_MS,
  HTTP_STEP_NAME,
  HTTP_WORKFLOW_NAME,
  ORCHESTRATOR_APPLICATION_NAME,
  PARENT_QUEUE,
  PARENT_WORKFLOW_NAME,
  PARTITIONED_QUEUE,
  QUEUE,
  SHUTDOWN_TIMEOUT_MS,
  STEPS,
  WORKER_POOL_SIZE,
  WORKFLOW_NAME,
  withApplicationName,
  workerApplicationPrefix,
  type HttpInput,
  type ParentInput,
} from './shared';
import { STALL_LIMIT_MS, verify, type FaultEvent, type FaultKind, type Kind, type Planned, type StatusRow, type StepRow } from './verify';

const ROOT = path.resolve(__dirname, '..', '..');
const EMBEDDED_DIR = path.join(ROOT, '.dbos', 'chaos-pgdata');
/**
 * A worker not ready this long after its start is stuck in its startup (it is SIGKILLed and that
 * is a finding): more than the module's startup retries against an unreachable database (30 s).
 */
const WORKER_READY_TIMEOUT_MS = 60_000;
/** How long, at most, bringing every worker up after the chaos (and after the drain) may take. */
const ALL_UP_LIMIT_MS = 3 * 60_000;
const PROGRESS_EVERY_MS = 10_000;
/**
 * A graceful stop waits up to shutdownTimeoutMs for running steps, then closes its pools: one that
 * takes more than SLOW_STOP_MS is a finding (its shutdown is not bounded by its timeout); one that
 * has not exited after GRACEFUL_STOP_LIMIT_MS is stuck (and SIGKILLed).
 */
const SLOW_STOP_MS = SHUTDOWN_TIMEOUT_MS + 5_000;
const GRACEFUL_STOP_LIMIT_MS = SHUTDOWN_TIMEOUT_MS + 15_000;
/** Of every 20 workflows enqueued, how many of each kind. */
const KIND_WEIGHTS: [Kind, number][] = [
  ['run', 13],
  ['http', 3],
  ['partition', 3],
  ['parent', 1],
];
const PARTITIONS = 3;
/** A live worker whose executor heartbeat is still older than this at the end (after as long a wait) is stuck. */
const STALE_HEARTBEAT_MS = 3 * EXECUTOR_LEASE_MS;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  minutes: number;
  workers: number;
  proxied: number;
  rate: number;
  drainMinutes: number;
  /** The workers' connections go through a PgBouncer in this pool mode. */
  pooler?: 'transaction';
  keep: boolean;
}

const USAGE = 'usage: npm run chaos -- [--minutes N] [--workers K] [--proxied P] [--rate R] [--drain-minutes D] [--pooler transaction] [--keep]\n';

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '1' },
      workers: { type: 'string', default: '3' },
      proxied: { type: 'string' },
      rate: { type: 'string', default: '20' },
      'drain-minutes': { type: 'string', default: '3' },
      pooler: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
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
  const workers = number('workers', values.workers!, 1, true);
  const proxied = values.proxied === undefined ? workers - 1 : number('proxied', values.proxied, 0, true);
  if (proxied > workers) {
    process.stderr.write(`chaos: --proxied must be at most --workers (${workers}), got ${proxied}\n`);
    process.exit(2);
  }
  if (values.pooler !== undefined && values.pooler !== 'transaction') {
    process.stderr.write(`chaos: --pooler must be "transaction", got "${values.pooler}"\n`);
    process.exit(2);
  }
  const missing = values.pooler ? pgbouncerMissing() : undefined;
  if (missing) {
    process.stderr.write(`chaos: --pooler transaction needs PgBouncer: ${missing}\n`);
    process.exit(2);
  }
  return {
    minutes: number('minutes', values.minutes!, 0),
    workers,
    proxied,
    rate: number('rate', values.rate!, 0.1),
    drainMinutes: number('drain-minutes', values['drain-minutes']!, 0.1),
    pooler: values.pooler as 'transaction' | undefined,
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
  /** Set while a proxy fault is on (blackhole, refusal, delay), so a SIGTERM does not pile onto it. */
  faulted = false;
  /** The last blackhole of its proxy: when it was healed, how long it lasted, whether a cut followed. */
  lastHeal?: { at: number; ms: number; cut: boolean };
  /** When its current (or last) process was started. */
  startedAt = 0;
  /** How its last process ended. */
  lastExit?: { code: number | null; signal: NodeJS.Signals | null };
  /** Set while we are the ones stopping it, so its exit is not counted as a crash. */
  private expectingExit = false;
  private exited?: Promise<void>;
  private renames = 0;
  readonly logFile: string;

  constructor(
    readonly index: number,
    private readonly run: ChaosRun,
    /** Its database connections go through these proxies, when it has them. */
    readonly proxy?: WorkerProxies,
  ) {
    this.executorId = `chaos-${index}`;
    this.logFile = path.join(run.logDir, `worker-${index}.log`);
  }

  /** Alive and not already being killed or stopped by us: a candidate for the next kill or stop. */
  get stoppable(): boolean {
    return this.alive && !this.expectingExit;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the worker under its executor id (a new one with `renew`); resolves once it is ready. */
  start(renew = false): Promise<void> {
    if (this.alive) throw new Error(`worker ${this.index} is already running`);
    if (this.run.shuttingDown) return Promise.reject(new Error('the run is stopping'));
    if (renew) this.executorId = `chaos-${this.index}-r${++this.renames}`;
    this.startedAt = Date.now();
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n===== ${new Date().toISOString()} start ${this.executorId} =====\n`);
    const child = ChildApp.run(path.join(__dirname, 'worker.ts'), {
      nodeArgs: ['--trace-uncaught'],
      env: {
        NO_COLOR: '1',
        DATABASE_URL: this.databaseUrl(),
        DATABASE_POOLER: this.run.bouncer ? 'transaction' : undefined,
        DATABASE_LISTEN_URL: this.listenUrl(),
        CHAOS_SCHEMA: this.run.schema,
        EXECUTOR_ID: this.executorId,
        CHAOS_SERVICE_PORT: String(this.run.servicePort),
      },
      outputFd: log,
      ipc: true,
    }).process;
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
        this.lastExit = { code, signal };
        if (!this.expectingExit && !this.run.shuttingDown) this.run.onCrash(this, executorId, code, signal);
        resolve();
      }),
    );
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Stuck in its startup: a finding; it is killed so that it can be started again.
        if (this.child === child && child.exitCode === null && child.signalCode === null) {
          this.expectingExit = true;
          child.kill('SIGKILL');
          this.run.onStartHang(this, executorId);
        }
        reject(new Error(`worker ${executorId} not ready within ${WORKER_READY_TIMEOUT_MS} ms`));
      }, WORKER_READY_TIMEOUT_MS);
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

  /**
   * Its database URL: the run's (PgBouncer's with a pooler), with its application_name, through
   * its proxy if it has one. PgBouncer sets each client's application_name on the server
   * connection it lends it, so a connection kill finds those by the same prefix.
   */
  private databaseUrl(): string {
    const url = this.named(this.run.bouncer ? this.run.bouncer.url(this.run.baseUrl) : this.run.baseUrl);
    return this.proxy ? this.proxy.pool.url(url) : url;
  }

  /** With a pooler: its LISTEN connection's URL, straight to Postgres (through its second proxy if it has one). */
  private listenUrl(): string | undefined {
    if (!this.run.bouncer) return undefined;
    const url = this.named(this.run.baseUrl);
    return this.proxy?.listen ? this.proxy.listen.url(url) : url;
  }

  private named(url: string): string {
    return withApplicationName(url, `${workerApplicationPrefix(this.run.schema)}${this.index}`);
  }

  /** SIGKILLs it and waits for the exit. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.expectingExit = true;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /**
   * SIGTERMs it (a graceful stop: Nest's shutdown hooks run) and waits for the exit; after
   * GRACEFUL_STOP_LIMIT_MS it is SIGKILLed. Says what went wrong, if anything.
   */
  async stop(): Promise<string | undefined> {
    if (!this.alive) return undefined;
    this.expectingExit = true;
    this.child!.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const hung = await Promise.race([
      this.exited!.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), GRACEFUL_STOP_LIMIT_MS))),
    ]);
    clearTimeout(timer);
    if (hung) {
      this.child!.kill('SIGKILL');
      await this.exited;
      return `did not exit within ${GRACEFUL_STOP_LIMIT_MS} ms of SIGTERM (shutdownTimeoutMs ${SHUTDOWN_TIMEOUT_MS}); SIGKILLed`;
    }
    // Nest's shutdown hooks end by re-raising the signal: a SIGTERM death (or exit 0) is a clean stop.
    const { code, signal } = this.lastExit ?? { code: null, signal: null };
    if (signal === 'SIGTERM' || code === 0) return undefined;
    return `exited with code ${code}, signal ${signal} after SIGTERM:\n${lastFatal(this.logFile)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The run

interface Counters {
  started: number;
  enqueueRetries: number;
  enqueueFailures: number;
  kills: number;
  sigterms: number;
  /** Graceful stops that were slow (SLOW_STOP_MS), hung or ended with an error. */
  gracefulStopFailures: number;
  newIdRestarts: number;
  connectionKills: number;
  terminatedConnections: number;
  blackholes: number;
  /** Blackholes longer than the executor lease (another executor may adopt meanwhile). */
  longBlackholes: number;
  /** Heals followed by a reset of the connections that died in the blackhole. */
  healCuts: number;
  proxyCuts: number;
  proxyDelays: number;
  proxyRefusals: number;
  cancels: number;
  /** Cancels that found the parent running (it was CANCELLED afterwards). */
  cancelledRunning: number;
  resumes: number;
  resumeFailures: number;
  crashes: number;
  /** Workers not ready within WORKER_READY_TIMEOUT_MS of their start. */
  startHangs: number;
}

class ChaosRun {
  readonly schema = `chaos_${randomBytes(4).toString('hex')}`;
  readonly logDir: string;
  baseUrl = '';
  /** With `--pooler transaction`: the PgBouncer between the workers and the database. */
  bouncer?: PgBouncer;
  shuttingDown = false;
  private embedded?: EmbeddedPostgresHandle;
  private admin?: Client;
  private client?: WorkflowClient;
  private service?: ChaosService;
  private slots: WorkerSlot[] = [];
  /** Slots being restarted (killed or stopped, and waiting for their restart), with the restart's promise. */
  private readonly restarting = new Map<WorkerSlot, Promise<void>>();
  /** Every workflow enqueued (or maybe enqueued: the outcome of a failed attempt is unknown), by id. */
  readonly planned = new Map<string, Planned>();
  /** Ids whose enqueue was acknowledged. */
  readonly acknowledged = new Set<string>();
  readonly counters: Counters = {
    started: 0,
    enqueueRetries: 0,
    enqueueFailures: 0,
    kills: 0,
    sigterms: 0,
    gracefulStopFailures: 0,
    newIdRestarts: 0,
    connectionKills: 0,
    terminatedConnections: 0,
    blackholes: 0,
    longBlackholes: 0,
    healCuts: 0,
    proxyCuts: 0,
    proxyDelays: 0,
    proxyRefusals: 0,
    cancels: 0,
    cancelledRunning: 0,
    resumes: 0,
    resumeFailures: 0,
    crashes: 0,
    startHangs: 0,
  };
  /** Every fault injected, when and where. */
  readonly events: FaultEvent[] = [];
  /** Parents cancelled while running, by id. */
  private readonly cancelled = new Map<string, { at: number; resumedAt?: number; resumeError?: string }>();
  /** Resumes not done yet. */
  private readonly resuming = new Set<Promise<void>>();
  readonly diagnostics: string[] = [];
  /** Worker crashes by their first line (the first of each kind is described in full). */
  private readonly crashKinds = new Map<string, number>();
  private chaosUntil = 0;

  constructor(private readonly options: Options) {
    this.logDir = path.join(ROOT, '.dbos', 'chaos-logs', this.schema);
  }

  get servicePort(): number {
    return this.service!.listeningPort;
  }

  async execute(): Promise<boolean> {
    const { options } = this;
    fs.mkdirSync(this.logDir, { recursive: true });
    await this.openDatabase();
    progress(`schema ${this.schema}, worker logs in ${path.relative(ROOT, this.logDir)}`);
    await this.createTables();
    this.service = await ChaosService.start();
    if (options.pooler) await this.startBouncer();

    // The last `proxied` workers reach the database through fault proxies: one in front of the
    // database (or PgBouncer), and with a pooler a second one for LISTEN, straight to Postgres.
    const target = new URL(this.baseUrl);
    const postgres = { host: target.hostname, port: Number(target.port || 5432) };
    const pool = this.bouncer ? { host: '127.0.0.1', port: this.bouncer.port } : postgres;
    this.slots = [];
    for (let i = 1; i <= options.workers; i++) {
      const proxy = i > options.workers - options.proxied ? await WorkerProxies.start(pool, this.bouncer ? postgres : undefined) : undefined;
      this.slots.push(new WorkerSlot(i, this, proxy));
    }
    await this.slots[0].start(); // applies the migrations alone
    await Promise.all(this.slots.slice(1).map((slot) => slot.start()));
    progress(
      `${options.workers} worker(s) ready; behind fault proxies: ${
        this.slots
          .filter((s) => s.proxy)
          .map((s) => `worker ${s.index} (port ${s.proxy!.ports})`)
          .join(', ') || 'none'
      }; ` + `HTTP service on port ${this.servicePort}`,
    );
    this.client = await WorkflowClient.connect({
      database: { url: withApplicationName(this.baseUrl, ORCHESTRATOR_APPLICATION_NAME), poolSize: 8 },
      schema: this.schema,
    });

    this.chaosUntil = Date.now() + options.minutes * 60_000;
    progress(`chaos for ${options.minutes} minute(s): ${options.rate} workflows/s, ${options.workers} workers`);
    const reporter = setInterval(() => void this.reportProgress(), PROGRESS_EVERY_MS);
    try {
      await Promise.all([this.enqueueLoop(), this.chaosLoop(), this.proxyLoop(), this.serviceLoop(), this.cancelLoop()]);
    } finally {
      clearInterval(reporter);
    }

    progress(`chaos over; enqueued ${this.counters.started}. Healing, bringing every worker up and draining`);
    await this.calm();
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
      const port = await freePort();
      progress(`DATABASE_URL is not set: starting an embedded Postgres in ${path.relative(ROOT, EMBEDDED_DIR)} on port ${port}`);
      this.embedded = await startEmbeddedPostgres({ dir: EMBEDDED_DIR, port, log: (m) => progress(`embedded postgres: ${m}`) });
      this.baseUrl = this.embedded.url;
    }
    this.admin = new Client({ connectionString: withApplicationName(this.baseUrl, ORCHESTRATOR_APPLICATION_NAME) });
    this.admin.on('error', (err) => progress(`orchestrator connection error: ${err.message}`));
    await this.admin.connect();
  }

  /**
   * One PgBouncer in transaction mode in front of the database, for the workers only (the
   * orchestrator and the verification connect directly). It may open a server connection for
   * every client connection the workers can open (2 x pool + 1 each, docs/poolers.md), so a worker
   * never waits for one; it opens them only as transactions need them. Its server connections get
   * the timeouts the module sets on a direct connection, as docs/poolers.md has the role give them.
   */
  private async startBouncer(): Promise<void> {
    const poolSize = this.options.workers * (2 * WORKER_POOL_SIZE + 1);
    this.bouncer = await PgBouncer.start({
      poolMode: 'transaction',
      poolSize,
      targetUrl: this.baseUrl,
      connectQuery: `SET statement_timeout = ${DEFAULT_STATEMENT_TIMEOUT_MS}; SET idle_in_transaction_session_timeout = ${DEFAULT_STATEMENT_TIMEOUT_MS}`,
    });
    progress(`PgBouncer (transaction mode, up to ${poolSize} server connections) on port ${this.bouncer.port}`);
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

  private fault(kind: FaultKind, target: string): void {
    this.events.push({ at: Date.now(), kind, target });
  }

  /** Chaos loops run while this holds; each waits only when its next action still fits. */
  private fits(wait: number): boolean {
    return !this.shuttingDown && Date.now() + wait < this.chaosUntil;
  }

  // ----- chaos phase: enqueuing

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

  /** What to enqueue as workflow number `seq`: its kind drawn by KIND_WEIGHTS. */
  private plan(seq: number): { workflowId: string; planned: Planned } {
    const total = KIND_WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
    let draw = Math.random() * total;
    const kind = KIND_WEIGHTS.find(([, w]) => (draw -= w) < 0)?.[0] ?? 'run';
    const pauses = (n: number, min: number, max: number) => Array.from({ length: n }, () => randomInt(min, max));
    switch (kind) {
      case 'run':
        return {
          workflowId: `chaos-wf-${seq}`,
          planned: { kind, workflowName: WORKFLOW_NAME, queue: QUEUE.name, input: { seq, pauses: pauses(STEPS, 20, 100) } },
        };
      case 'partition':
        return {
          workflowId: `chaos-part-${seq}`,
          planned: {
            kind,
            workflowName: WORKFLOW_NAME,
            queue: PARTITIONED_QUEUE.name,
            partitionKey: `tenant-${randomInt(0, PARTITIONS - 1)}`,
            input: { seq, pauses: pauses(2, 100, 300) },
          },
        };
      case 'http':
        return { workflowId: `chaos-http-${seq}`, planned: { kind, workflowName: HTTP_WORKFLOW_NAME, queue: QUEUE.name, input: { seq } satisfies HttpInput } };
      case 'parent': {
        const input: ParentInput = { seq, direct: seq % 2 === 1, pause: randomInt(50, 200), child: { seq, pauses: pauses(3, 200, 600) } };
        return { workflowId: `chaos-parent-${seq}`, planned: { kind, workflowName: PARENT_WORKFLOW_NAME, queue: PARENT_QUEUE.name, input } };
      }
    }
  }

  private async enqueue(seq: number): Promise<void> {
    const { workflowId, planned } = this.plan(seq);
    this.planned.set(workflowId, planned);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client!.enqueue({ workflowName: planned.workflowName, queue: planned.queue, workflowId, partitionKey: planned.partitionKey }, planned.input);
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

  // ----- chaos phase: processes and connections

  /** Runs `action` every `min` to `max` ms while the chaos lasts; a failed action is a diagnostic. */
  private async every(min: number, max: number, what: string, action: () => Promise<void>): Promise<void> {
    for (;;) {
      const wait = randomInt(min, max);
      if (!this.fits(wait)) break;
      await sleep(wait);
      if (this.shuttingDown) break;
      try {
        await action();
      } catch (err) {
        this.diagnostics.push(`${what} failed: ${(err as Error).message}`);
        progress(`${what} failed: ${(err as Error).message}`);
      }
    }
  }

  private chaosLoop(): Promise<void> {
    return this.every(2_000, 6_000, 'chaos action', async () => {
      const draw = Math.random();
      if (draw < 0.4) await this.killAWorker();
      else if (draw < 0.65) this.stopAWorker();
      else await this.killConnections();
    });
  }

  private async killAWorker(): Promise<void> {
    const candidates = this.slots.filter((slot) => slot.stoppable && !this.restarting.has(slot));
    if (candidates.length === 0) return;
    const slot = candidates[randomInt(0, candidates.length - 1)];
    const killedId = slot.executorId;
    await slot.kill();
    this.counters.kills++;
    this.fault('kill', killedId);
    const delay = randomInt(0, 3_000);
    const renew = Math.random() < 0.25;
    if (renew) this.counters.newIdRestarts++;
    this.restartLater(slot, Promise.resolve(), delay, renew);
    progress(`SIGKILL ${killedId}; restart in ${delay} ms${renew ? ' under a new executor id' : ''}`);
  }

  /** A graceful stop (SIGTERM), in the background: it may take up to the shutdown timeout. */
  private stopAWorker(): void {
    const candidates = this.slots.filter((slot) => slot.stoppable && slot.ready && !slot.faulted && !this.restarting.has(slot));
    if (candidates.length === 0) return;
    const slot = candidates[randomInt(0, candidates.length - 1)];
    const stoppedId = slot.executorId;
    this.counters.sigterms++;
    this.fault('sigterm', stoppedId);
    const startedAt = Date.now();
    const stopped = slot.stop().then((stuck) => {
      const took = Date.now() - startedAt;
      const problem =
        stuck ?? (took > SLOW_STOP_MS ? `took ${took} ms to exit after SIGTERM (shutdownTimeoutMs ${SHUTDOWN_TIMEOUT_MS}, limit ${SLOW_STOP_MS})` : undefined);
      if (problem) {
        const faults = this.events
          .filter((ev) => ev.target === stoppedId && ev.at >= startedAt - 30_000 && ev.at <= startedAt + took)
          .map((ev) => `${ev.kind} at +${((ev.at - t0) / 1000).toFixed(1)}s`);
        this.counters.gracefulStopFailures++;
        this.diagnostics.push(
          `graceful stop of ${stoppedId} at +${((startedAt - t0) / 1000).toFixed(1)}s: ${problem}` +
            `${slot.proxy ? `; its proxy's faults from 30 s before until it exited: ${faults.join(', ') || 'none'}` : ''}`,
        );
        progress(`graceful stop of ${stoppedId}: ${problem.split('\n')[0]}`);
      } else {
        progress(`${stoppedId} stopped gracefully in ${took} ms`);
      }
    });
    this.restartLater(slot, stopped, randomInt(0, 3_000), false);
    progress(`SIGTERM ${stoppedId}`);
  }

  /** Restarts `slot` `delay` ms after `down` (its kill or stop) resolved. */
  private restartLater(slot: WorkerSlot, down: Promise<void>, delay: number, renew: boolean): void {
    const restart = down
      .then(() => sleep(delay))
      .then(() => slot.start(renew))
      .then(() => progress(`worker ${slot.index}: restarted ${renew ? `as ${slot.executorId}` : `(${slot.executorId})`}`))
      .catch((err: Error) => progress(`worker ${slot.index}: restart: ${err.message}`))
      .finally(() => this.restarting.delete(slot));
    this.restarting.set(slot, restart);
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
    this.fault('connection-kill', 'all workers');
    progress(`terminated ${terminated} worker connection(s)`);
  }

  // ----- chaos phase: the network between proxied workers and the database

  private async proxyLoop(): Promise<void> {
    const proxied = this.slots.filter((slot) => slot.proxy);
    if (proxied.length === 0) return;
    for (;;) {
      const wait = randomInt(1_500, 5_000);
      // The fault and how long it lasts are drawn first: it must be over when the chaos is.
      const draw = Math.random();
      const longBlackhole = Math.random() < 0.5;
      const [fault, ms] =
        draw < 0.5
          ? ([
              'blackhole',
              longBlackhole ? randomInt(EXECUTOR_LEASE_MS + 1_000, EXECUTOR_LEASE_MS + 6_000) : randomInt(500, EXECUTOR_LEASE_MS - 1_000),
            ] as const)
          : draw < 0.65
            ? (['cut', 0] as const)
            : draw < 0.85
              ? (['delay', randomInt(1_000, 4_000)] as const)
              : (['refuse', randomInt(500, 4_000)] as const);
      if (!this.fits(wait + ms)) break;
      await sleep(wait);
      if (this.shuttingDown) break;
      const slot = proxied[randomInt(0, proxied.length - 1)];
      slot.faulted = true;
      try {
        if (fault === 'blackhole') await this.blackhole(slot, ms);
        else if (fault === 'cut') this.cutProxy(slot);
        else if (fault === 'delay') await this.delayProxy(slot, ms);
        else await this.refuseProxy(slot, ms);
      } catch (err) {
        this.diagnostics.push(`proxy fault failed: ${(err as Error).message}`);
        progress(`proxy fault failed: ${(err as Error).message}`);
      } finally {
        slot.faulted = false;
      }
    }
  }

  /**
   * A partition between the worker and the database: shorter than the lease, or longer (its
   * workflows may then be adopted by another executor). After the heal the connections that were
   * open stay dead (the bytes they lost are gone); half the time they are also reset, as a server
   * that gave up on them would.
   */
  private async blackhole(slot: WorkerSlot, ms: number): Promise<void> {
    const proxy = slot.proxy!;
    await proxy.blackhole();
    this.counters.blackholes++;
    if (ms > EXECUTOR_LEASE_MS) this.counters.longBlackholes++;
    this.fault('blackhole', slot.executorId);
    progress(`blackhole between ${slot.executorId} and the database for ${ms} ms (${proxy.open} connection(s) open)`);
    await sleep(ms);
    await proxy.heal();
    const cut = Math.random() < 0.5;
    if (cut) {
      const n = proxy.cut();
      this.counters.healCuts++;
      this.fault('heal-cut', slot.executorId);
      progress(`healed ${slot.executorId}; reset the ${n} connection(s) that died in the blackhole`);
    } else {
      progress(`healed ${slot.executorId}; the connections that were open stay dead`);
    }
    slot.lastHeal = { at: Date.now(), ms, cut };
  }

  private cutProxy(slot: WorkerSlot): void {
    const n = slot.proxy!.cut();
    this.counters.proxyCuts++;
    this.fault('proxy-cut', slot.executorId);
    progress(`reset the ${n} connection(s) of ${slot.executorId} at its proxy`);
  }

  private async delayProxy(slot: WorkerSlot, ms: number): Promise<void> {
    const latency = randomInt(50, 400);
    slot.proxy!.delay(latency);
    this.counters.proxyDelays++;
    this.fault('proxy-delay', slot.executorId);
    progress(`${latency} ms of latency each way for ${slot.executorId}, for ${ms} ms`);
    await sleep(ms);
    slot.proxy!.delay(0);
  }

  private async refuseProxy(slot: WorkerSlot, ms: number): Promise<void> {
    await slot.proxy!.refuse();
    this.counters.proxyRefusals++;
    this.fault('proxy-refuse', slot.executorId);
    progress(`new connections of ${slot.executorId} refused for ${ms} ms`);
    await sleep(ms);
    await slot.proxy!.heal();
  }

  // ----- chaos phase: the HTTP service

  /**
   * Up for 1 to 6 s, then down (refusing connects, or answering 503) for 0.3 to 4 s. Half of the
   * long 503 spells also get a graceful stop of a worker when the steps that met the start of the
   * spell are at their last attempts: a deploy during a dependency's outage, the moment when a
   * shutdown that closes the HTTP client before the workflows stop would fail them.
   */
  private async serviceLoop(): Promise<void> {
    const service = this.service!;
    for (;;) {
      const up = randomInt(1_000, 6_000);
      const down = randomInt(300, 4_000);
      if (!this.fits(up + down)) break;
      await sleep(up);
      if (this.shuttingDown) break;
      let stopAt: number | undefined;
      if (Math.random() < 0.5) {
        service.refuse();
        this.fault('service-refuse', 'service');
      } else {
        await service.fail();
        this.fault('service-fail', 'service');
        // A step's attempts go out 0.2, 0.4 and 0.8 s after the previous answer (100 to 400 ms
        // while failing): the fourth is in flight about 1.9 to 2.5 s after the first.
        if (down >= 2_800 && Math.random() < 0.6) stopAt = randomInt(1_900, 2_500);
      }
      progress(`HTTP service ${service.state} for ${down} ms${stopAt ? `, with a graceful stop after ${stopAt} ms` : ''}`);
      if (stopAt !== undefined) {
        await sleep(stopAt);
        this.stopAWorker();
      }
      await sleep(down - (stopAt ?? 0));
      await service.up();
    }
  }

  // ----- chaos phase: cancelling running parents, resuming them a moment later

  private cancelLoop(): Promise<void> {
    return this.every(1_000, 3_000, 'cancel', async () => {
      const running = await this.sql<{ workflow_id: string }>(
        `SELECT workflow_id FROM "${this.schema}".workflow_status
          WHERE workflow_name = $1 AND status = 'PENDING' AND parent_workflow_id IS NULL ORDER BY random() LIMIT 2`,
        [PARENT_WORKFLOW_NAME],
      );
      for (const { workflow_id: id } of running) {
        if (this.cancelled.has(id)) continue;
        await this.client!.cancel(id);
        this.counters.cancels++;
        this.fault('cancel', id);
        const [row] = await this.sql<{ status: string }>(`SELECT status FROM "${this.schema}".workflow_status WHERE workflow_id = $1`, [id]);
        if (row?.status !== 'CANCELLED') continue; // it finished just before
        this.counters.cancelledRunning++;
        const delay = randomInt(300, 2_000);
        this.cancelled.set(id, { at: Date.now() });
        progress(`cancelled ${id} while running; resume in ${delay} ms`);
        const resume = sleep(delay).then(() => this.resume(id));
        this.resuming.add(resume);
        void resume.finally(() => this.resuming.delete(resume));
      }
    });
  }

  private async resume(id: string): Promise<void> {
    const record = this.cancelled.get(id)!;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client!.resume(id);
        this.counters.resumes++;
        record.resumedAt = Date.now();
        return;
      } catch (err) {
        if (attempt >= 5) {
          this.counters.resumeFailures++;
          record.resumeError = (err as Error).message;
          this.diagnostics.push(`resume of ${id} failed ${attempt} times: ${(err as Error).message}`);
          return;
        }
        await sleep(300 * attempt);
      }
    }
  }

  private async reportProgress(): Promise<void> {
    try {
      const [counts] = await this.sql<{ success: number; error: number; pending: number; enqueued: number; other: number }>(
        `SELECT count(*) FILTER (WHERE status = 'SUCCESS')::int AS success, count(*) FILTER (WHERE status = 'ERROR')::int AS error,
                count(*) FILTER (WHERE status = 'PENDING')::int AS pending, count(*) FILTER (WHERE status = 'ENQUEUED')::int AS enqueued,
                count(*) FILTER (WHERE status NOT IN ('SUCCESS', 'ERROR', 'PENDING', 'ENQUEUED'))::int AS other
           FROM "${this.schema}".workflow_status WHERE parent_workflow_id IS NULL`,
      );
      const c = this.counters;
      progress(
        `enqueued=${c.started} success=${counts.success} error=${counts.error} pending=${counts.pending} queued=${counts.enqueued} other=${counts.other} ` +
          `kills=${c.kills} sigterms=${c.sigterms} connection-kills=${c.connectionKills} blackholes=${c.blackholes} cancels=${c.cancels} ` +
          `crashes=${c.crashes} workers-up=${this.slots.filter((s) => s.ready).length}/${this.slots.length}`,
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
    this.restartLater(slot, Promise.resolve(), 1_000, false);
  }

  /** A worker did not get ready: say where its startup stood, and what its proxy did meanwhile. */
  onStartHang(slot: WorkerSlot, executorId: string): void {
    this.counters.startHangs++;
    const faults = this.events
      .filter((ev) => ev.target === executorId && ev.at >= slot.startedAt)
      .map((ev) => `${ev.kind} at +${((ev.at - t0) / 1000).toFixed(1)}s`);
    const logTail = lastFatal(slot.logFile).split('\n').slice(-4).join('\n');
    this.diagnostics.push(
      `worker ${executorId} was not ready within ${WORKER_READY_TIMEOUT_MS} ms of its start and was SIGKILLed` +
        `${slot.proxy ? ` (started at +${((slot.startedAt - t0) / 1000).toFixed(1)}s behind a fault proxy; its faults since: ${faults.join(', ') || 'none'})` : ''}; ` +
        `its log ends:\n${logTail}`,
    );
    progress(`worker ${executorId} stuck in its startup: SIGKILLed`);
  }

  // ----- drain and verification

  /** After the chaos: every proxy forwards without delay, the service is up, every resume is done. */
  private async calm(): Promise<void> {
    for (const slot of this.slots) {
      if (!slot.proxy) continue;
      slot.proxy.delay(0);
      await slot.proxy.heal();
    }
    await this.service!.up();
    await Promise.all([...this.resuming]);
  }

  /** Waits for pending restarts, then (re)starts any worker that is down, until all are ready (bounded). */
  private async allWorkersUp(): Promise<void> {
    const limit = Date.now() + ALL_UP_LIMIT_MS;
    for (let round = 0; round < 5 && Date.now() < limit; round++) {
      await Promise.all(this.restarting.values());
      const down = this.slots.filter((slot) => !slot.alive);
      await Promise.all(down.map((slot) => slot.start().catch((err: Error) => this.diagnostics.push(`worker ${slot.index} did not come up: ${err.message}`))));
      // A worker still booting (restarted just before the chaos stopped) is alive but not yet ready;
      // one that stays so past WORKER_READY_TIMEOUT_MS is killed by its start and started again.
      const deadline = Math.min(limit, Date.now() + WORKER_READY_TIMEOUT_MS + 5_000);
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
        [[...this.planned.keys()]],
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
    const statusRows = await this.sql<StatusRow>(
      `SELECT workflow_id, workflow_name, status, executor_id, recovery_attempts::int AS recovery_attempts, error, parent_workflow_id,
              created_at::float8 AS created_at, updated_at::float8 AS updated_at
         FROM ${s}.workflow_status`,
    );
    const statuses = new Map(statusRows.map((r) => [r.workflow_id, r]));
    const effects = await this.sql<{ workflow_id: string; step: number; n: number }>(
      `SELECT workflow_id, step, count(*)::int AS n FROM ${s}.effects GROUP BY 1, 2`,
    );
    const runs = await this.sql<{ workflow_id: string; n: number; s: number | null; e: number | null }>(
      `SELECT workflow_id, count(*)::int AS n, (extract(epoch FROM min(started_at)) * 1000)::float8 AS s,
              (extract(epoch FROM max(ended_at)) * 1000)::float8 AS e
         FROM ${s}.runs GROUP BY 1`,
    );
    const writers = await this.sql<{ key: string; writers: string }>(
      `SELECT workflow_id || '#' || step AS key, string_agg(executor || ' at ' || to_char(at, 'HH24:MI:SS.MS'), ', ' ORDER BY at) AS writers
         FROM ${s}.effects GROUP BY workflow_id, step HAVING count(*) > 1
       UNION ALL
       SELECT workflow_id || '#begin', string_agg(executor || ' at ' || to_char(started_at, 'HH24:MI:SS.MS'), ', ' ORDER BY started_at)
         FROM ${s}.runs GROUP BY workflow_id HAVING count(*) > 1`,
    );
    const steps = await this.sql<StepRow>(
      `SELECT workflow_id, step_id, step_name, output, error, started_at::float8 AS started_at, completed_at::float8 AS completed_at
         FROM ${s}.operation_outputs WHERE error IS NOT NULL OR step_name = $1`,
      [HTTP_STEP_NAME],
    );

    // An enqueue whose attempts all failed may still have inserted: then it counts as started.
    const startedIds = [...this.planned.keys()].filter((id) => statuses.has(id) || this.acknowledged.has(id));
    // Outputs of every successful workflow of the run and of their children, read in bulk on the
    // orchestrator's own connection (the server may be short of connections) and decoded by the
    // codec getResult uses.
    const results = new Map<string, { value: unknown } | { error: Error }>();
    const outputs = await this.sql<{ workflow_id: string; output: string | null }>(
      `SELECT workflow_id, output FROM ${s}.workflow_status WHERE status = 'SUCCESS'`,
    );
    for (const { workflow_id: id, output } of outputs) {
      const row = statuses.get(id);
      if (!this.planned.has(id) && !(row?.parent_workflow_id && this.planned.has(row.parent_workflow_id))) continue;
      try {
        results.set(id, { value: deserialize(output) });
      } catch (err) {
        results.set(id, { error: err as Error });
      }
    }

    const findings = verify({
      planned: this.planned,
      startedIds,
      statuses,
      effects,
      duplicateWriters: new Map(writers.map((w) => [w.key, w.writers])),
      runs,
      steps,
      results,
      requests: this.service!.requests,
      events: this.events,
      cancelled: this.cancelled,
      t0,
    });
    this.diagnostics.push(...findings.diagnostics);
    if (findings.duplicatedIds.length > 0) {
      this.diagnostics.push(`workflows with duplicated rows, as recorded:`);
      await this.describeStuck(findings.duplicatedIds.slice(0, 5), statuses);
    }
    if (findings.notSuccess.length > 0) {
      const byStatus = new Map<string, number>();
      for (const id of findings.notSuccess) byStatus.set(statuses.get(id)?.status ?? 'none', (byStatus.get(statuses.get(id)?.status ?? 'none') ?? 0) + 1);
      this.diagnostics.push(`not ended as expected: ${[...byStatus].map(([k, v]) => `${v} ${k}`).join(', ')}`);
      await this.describeStuck(findings.notSuccess.slice(0, 15), statuses);
    }
    const staleWorkers = await this.staleWorkers();

    if (this.crashKinds.size > 0) {
      this.diagnostics.push(`worker crashes by kind: ${[...this.crashKinds].map(([k, n]) => `${n} x ${k}`).join(' | ')}`);
    }
    const c = this.counters;
    const service = this.service!.counters;
    if (findings.httpFailed === 0 && service.outages > 0) {
      this.diagnostics.push('no HTTP workflow failed: no service outage outlasted the retries of a step, so that path went unchecked this time');
    }
    const recovered = statusRows.filter((r) => r.recovery_attempts > 0).length;
    const [executors] = await this.sql<{ n: number }>(`SELECT count(DISTINCT executor)::int AS n FROM ${s}.effects`);
    progress(
      `${recovered} workflow(s) were recovered or adopted at least once; effects were written by ${executors.n} executor id(s); ` +
        `${c.terminatedConnections} connection(s) terminated; ${c.enqueueRetries} enqueue retries; HTTP service saw ${service.requests} request(s) ` +
        `(${service.answered200} answered 200, ${service.answered503} answered 503); drain took ${(drainMs / 1000).toFixed(1)} s`,
    );

    const ok =
      findings.started > 0 &&
      findings.lost === 0 &&
      findings.duplicated === 0 &&
      findings.wrongOutput === 0 &&
      findings.completed + findings.httpFailed === findings.started &&
      findings.badHttpFailures === 0 &&
      findings.retryOverruns === 0 &&
      findings.unexpectedErrors === 0 &&
      findings.cancelFailures === 0 &&
      findings.maxConcurrency <= QUEUE.concurrency &&
      findings.maxPartitionConcurrency <= PARTITIONED_QUEUE.partitionConcurrency &&
      findings.maxStall <= STALL_LIMIT_MS &&
      staleWorkers === 0 &&
      c.crashes === 0 &&
      c.startHangs === 0 &&
      c.enqueueFailures === 0 &&
      c.gracefulStopFailures === 0 &&
      c.resumeFailures === 0;
    for (const line of this.diagnostics) process.stdout.write(`chaos: diagnostic: ${line}\n`);
    if (!ok) process.stdout.write(`chaos: diagnostic: worker logs in ${path.relative(ROOT, this.logDir)}\n`);
    printSummary(
      `chaos: minutes=${this.options.minutes} workers=${this.options.workers} proxied=${this.options.proxied} ` +
        `${this.options.pooler ? `pooler=${this.options.pooler} ` : ''}started=${findings.started} completed=${findings.completed} http-failed=${findings.httpFailed} ` +
        `kills=${c.kills} sigterms=${c.sigterms} new-id-restarts=${c.newIdRestarts} connection-kills=${c.connectionKills} ` +
        `blackholes=${c.blackholes} long-blackholes=${c.longBlackholes} heal-cuts=${c.healCuts} proxy-cuts=${c.proxyCuts} ` +
        `proxy-delays=${c.proxyDelays} proxy-refusals=${c.proxyRefusals} service-outages=${service.outages} ` +
        `cancels=${c.cancelledRunning} resumes=${c.resumes} ` +
        `crashes=${c.crashes} start-hangs=${c.startHangs} graceful-stop-failures=${c.gracefulStopFailures} lost=${findings.lost} duplicated=${findings.duplicated} ` +
        `wrong-output=${findings.wrongOutput} bad-http-failures=${findings.badHttpFailures} retry-overruns=${findings.retryOverruns} ` +
        `unexpected-errors=${findings.unexpectedErrors} shutdown-errors=${findings.shutdownErrors} cancel-failures=${findings.cancelFailures} ` +
        `stale-workers=${staleWorkers} max-concurrency=${findings.maxConcurrency}/${QUEUE.concurrency} ` +
        `max-partition-concurrency=${findings.maxPartitionConcurrency}/${PARTITIONED_QUEUE.partitionConcurrency} ` +
        `max-stall=${(findings.maxStall / 1000).toFixed(1)}s/${STALL_LIMIT_MS / 1000}s result=${ok ? 'PASS' : 'FAIL'}`,
    );
    return ok;
  }

  /**
   * Live workers whose executor heartbeat is stale after the drain: stuck (e.g. on connections
   * that died in a blackhole) though their process runs. Each one is described.
   */
  private async staleWorkers(): Promise<number> {
    // A worker whose connections were reset just now gets a moment to heartbeat again.
    const deadline = Date.now() + STALE_HEARTBEAT_MS;
    let ageOf = new Map<string, number>();
    for (;;) {
      const rows = await this.sql<{ executor_id: string; age: string }>(
        `SELECT executor_id, ($1::bigint - heartbeat_at)::bigint AS age FROM "${this.schema}".executors WHERE executor_id = ANY($2::text[])`,
        [Date.now(), this.slots.map((slot) => slot.executorId)],
      );
      ageOf = new Map(rows.map((r) => [r.executor_id, Number(r.age)]));
      const fresh = (slot: WorkerSlot) => !slot.ready || (ageOf.get(slot.executorId) ?? Infinity) <= EXECUTOR_LEASE_MS;
      if (this.slots.every(fresh) || Date.now() > deadline) break;
      await sleep(500);
    }
    let stale = 0;
    for (const slot of this.slots) {
      if (!slot.ready) continue;
      const age = ageOf.get(slot.executorId);
      if (age !== undefined && age <= STALE_HEARTBEAT_MS) continue;
      stale++;
      const heal = slot.lastHeal
        ? `; its last blackhole (${slot.lastHeal.ms} ms) was healed at +${((slot.lastHeal.at - t0) / 1000).toFixed(1)}s ${slot.lastHeal.cut ? 'and its dead connections reset' : 'with its dead connections left open'}`
        : '';
      this.diagnostics.push(
        `worker ${slot.executorId} is alive but its executor heartbeat is ${age === undefined ? 'missing' : `${(age / 1000).toFixed(1)} s old`} ` +
          `(limit ${STALE_HEARTBEAT_MS / 1000} s)${slot.proxy ? ', behind a fault proxy' : ''}${heal}`,
      );
    }
    return stale;
  }

  private executorsDescribed = false;

  /** What the database says about workflows that did not finish as expected. */
  private async describeStuck(ids: string[], statusOf: Map<string, StatusRow>): Promise<void> {
    const s = `"${this.schema}"`;
    if (!this.executorsDescribed) {
      this.executorsDescribed = true;
      const heartbeats = await this.sql<{ executor_id: string; age: string }>(
        `SELECT executor_id, ($1::bigint - heartbeat_at)::bigint AS age FROM ${s}.executors`,
        [Date.now()],
      );
      this.diagnostics.push(`executors (heartbeat age ms): ${heartbeats.map((h) => `${h.executor_id}=${h.age}`).join(' ')}`);
      this.diagnostics.push(`live workers: ${this.slots.map((slot) => `${slot.executorId}${slot.ready ? '' : '(down)'}`).join(' ')}`);
      const sessions = await this.sql<SessionRow>(BUSY_SESSIONS_SQL, [workerApplicationPrefix(this.schema)]).catch((err: Error) => err);
      if (sessions instanceof Error) this.diagnostics.push(`workers' sessions: could not read them: ${sessions.message}`);
      else this.diagnostics.push(`workers' sessions not idle: ${sessions.length}`, ...sessions.map((row) => `  ${describeSession(row)}`));
    }
    let detailed = false;
    for (const id of ids) {
      const row = statusOf.get(id);
      if (!row) continue;
      const [steps] = await this.sql<{ n: number; steps: string | null }>(
        `SELECT count(*)::int AS n,
                string_agg(step_id || ':' || step_name || CASE WHEN error IS NULL THEN '' ELSE '(error)' END, ' ' ORDER BY step_id) AS steps
           FROM ${s}.operation_outputs WHERE workflow_id = $1`,
        [id],
      ).catch((err: Error) => [{ n: -1, steps: err.message }]);
      const children = [...statusOf.values()].filter((r) => r.parent_workflow_id === id).map((r) => `${r.workflow_id}=${r.status}`);
      this.diagnostics.push(
        `${id}: status=${row.status} executor=${row.executor_id} recovery_attempts=${row.recovery_attempts} checkpoints=${steps.n} [${steps.steps ?? ''}]` +
          (children.length > 0 ? ` children=${children.join(',')}` : '') +
          (row.error ? ` error=${describeError(row.error, !detailed)}` : ''),
      );
      if (row.error) detailed = true;
      for (const line of logLinesAbout(this.logDir, id)) this.diagnostics.push(`  ${line}`);
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
    await Promise.all(this.slots.map((slot) => slot.proxy?.close()));
    await withTimeout(this.service?.close() ?? Promise.resolve(), 5_000, 'closing the HTTP service').catch((err: Error) => progress(err.message));
    if (this.bouncer) {
      await withTimeout(this.bouncer.stop(), 10_000, 'stopping PgBouncer')
        .then(() => progress('PgBouncer stopped'))
        .catch((err: Error) => {
          this.bouncer!.kill();
          progress(`${err.message}: SIGKILLed it`);
        });
    }
    if (this.admin) {
      if (!this.options.keep) {
        await withTimeout(
          this.sql(`SET lock_timeout = '15s'`).then(() => this.sql(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`)),
          30_000,
          'dropping the schema',
        )
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
  process.on('exit', () => {
    killAllChildren();
    run.bouncer?.kill(); // stopped by the teardown, unless the process exits before it is over
  });
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
    printSummary(
      `chaos: minutes=${options.minutes} workers=${options.workers}${options.pooler ? ` pooler=${options.pooler}` : ''} aborted by an error result=FAIL`,
    );
  } finally {
    await withTimeout(teardown(), 60_000, 'teardown').catch((err: Error) => progress(err.message));
  }
  process.exit(ok ? 0 : 1);
}

void main();
