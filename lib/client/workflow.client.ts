import { randomUUID } from 'node:crypto';
import { Observable } from 'rxjs';
import { DEFAULT_WAIT_MS } from '../dbos.constants';
import { DbosConfigurationError } from '../errors/configuration.error';
import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import { WorkflowInserter } from '../app-transaction/workflow.inserter';
import type { ClientStartOptions, EnqueueOptions } from '../interfaces/workflow-options.interface';
import type { ListWorkflowsOptions, StepInfo, WorkflowPage, WorkflowStatusInfo } from '../interfaces/workflow-status.interface';
import { currentTraceContext } from '../observability/trace-context';
import { deserialize, serialize } from '../serialization/value.codec';
import type { QueueStats } from '../system-database/queue.repository';
import { encodeListCursor, listOrderOf } from '../system-database/list.cursor';
import { toStatusInfo, toStepInfo } from '../workflow/status-info.mapper';
import { attributesFilter } from '../workflow/workflow.attributes';
import { checkWorkflowId } from '../workflow/workflow.limits';
import { newWorkflowRow } from '../workflow/workflow-row.builder';
import { WorkflowHandle, type GetStatusOptions } from './workflow.handle';
import { waitAll, waitFirstIndex, type ResultsOf, type WaitForHandlesOptions } from '../fan-out/fan-out';
import { workflowStarter, type ClassType, type WorkflowStarter } from './workflow.starter';
import { WorkflowStreams } from './workflow.streams';
import { WorkflowAdmin, type LocalWorkflowRuntime } from './workflow.admin';
import { openClientBackend, type WorkflowClientBackend } from './client.backend';
import type { DeleteWorkflowOptions } from '../system-database/workflow-edit.repository';
import type { DebounceByNameOptions, DebounceOptions } from '../debounce/debounce.options';
import { WorkflowDebouncer } from '../debounce/workflow.debouncer';
import { ScheduleClient } from '../schedules/schedule.client';

export type { ClassType, WorkflowStarter } from './workflow.starter';
import { eventKey } from '../system-database/system.names';

/** Only this module builds clients (see the constructor). */
const BUILT_HERE = Symbol('WorkflowClient.over');

export type { LocalWorkflowRuntime } from './workflow.admin';

export type { DeleteWorkflowOptions } from '../system-database/workflow-edit.repository';
export type { ForkOptions, ResumeOptions, SendOptions, StreamEvent, WorkflowClientConnectOptions } from './client-options.interface';
import type { ForkOptions, ResumeOptions, SendOptions, StreamEvent, WorkflowClientConnectOptions } from './client-options.interface';

/**
 * The outside door to workflows: start, await, message, inspect, manage. Inject it in a Nest
 * app, or use `WorkflowClient.connect()` from any Node process.
 */
export class WorkflowClient {
  private readonly streams: WorkflowStreams;
  private readonly admin: WorkflowAdmin;
  private debouncer?: WorkflowDebouncer;
  private readonly inserter: WorkflowInserter;
  /** Schedules stored in the database: create, update, pause, resume, delete, list, trigger, backfill (docs/schedules.md). */
  readonly schedules: ScheduleClient;

  /** @internal Not part of the published types: inject the client, or call `WorkflowClient.connect()`. */
  constructor(
    key: typeof BUILT_HERE,
    private readonly backend: WorkflowClientBackend,
  ) {
    if (key !== BUILT_HERE) {
      throw new DbosConfigurationError(
        'WorkflowClient is not constructed directly: inject it in a Nest app that imports DbosModule, or call `await WorkflowClient.connect({ database: { url } })` elsewhere.',
      );
    }
    this.streams = new WorkflowStreams(backend);
    this.admin = new WorkflowAdmin(backend);
    this.inserter = new WorkflowInserter(backend);
    this.schedules = new ScheduleClient(backend.schedules);
  }

  /** @internal A client over the module's repositories (the Nest provider) or a connection of its own (`connect`). */
  static over(backend: WorkflowClientBackend): WorkflowClient {
    return new WorkflowClient(BUILT_HERE, backend);
  }

  /** A client of its own, outside Nest. Close it with `close()`. */
  static async connect(options: WorkflowClientConnectOptions): Promise<WorkflowClient> {
    return WorkflowClient.over(await openClientBackend(options));
  }

  /**
   * `await client.start(CheckoutService, { workflowId }).checkout(order)` returns a handle at once.
   * With `entityManager` the workflow is written in that TypeORM transaction and runs once it commits.
   */
  start<T>(type: ClassType<T>, options: ClientStartOptions = {}): WorkflowStarter<T> {
    return workflowStarter<T>(async (methodName, args) => {
      const { entityManager, ...start } = options;
      const local = this.requireLocal('start()');
      if (!entityManager) return this.retrieve(await local.start(type as ClassType, methodName, args, start));
      return this.retrieve(await this.inserter.insert(local.queuedRow(type as ClassType, methodName, args, start), start, entityManager, 'start()'));
    });
  }

  /**
   * Enqueues a workflow by its registered name, from any process (this one need not have its
   * class). A dispatcher of a process that registers the workflow and declares the queue runs it.
   */
  async enqueue<R = unknown>(options: EnqueueOptions, ...args: unknown[]): Promise<WorkflowHandle<R>> {
    const inputs = serialize(args, `the arguments of workflow ${options.workflowName}`);
    const workflowId = options.workflowId ?? randomUUID();
    checkWorkflowId(workflowId);
    const row = newWorkflowRow({
      workflowId,
      workflowName: options.workflowName,
      className: null,
      inputs,
      applicationVersion: options.applicationVersion ?? null,
      options,
      traceContext: currentTraceContext(),
    });
    return this.retrieve<R>(await this.inserter.insert(row, options, options.entityManager, 'enqueue()'));
  }

  /**
   * Collapses a burst of calls with the same key into one run with the last call's arguments,
   * `periodMs` after the last call (at most `maxWaitMs` after the first): every call of the burst
   * gets a handle of that run; a call once it has started opens a new burst. Keys are scoped by
   * workflow. `debounce(key, options, Type).method(...args)`, or by name from any process:
   * `debounce(key, { ...options, workflowName }, ...args)`. See docs/debounce.md.
   */
  debounce<T>(key: string, options: DebounceOptions, type: ClassType<T>): WorkflowStarter<T>;
  debounce<R = unknown>(key: string, options: DebounceByNameOptions, ...args: unknown[]): Promise<WorkflowHandle<R>>;
  debounce(key: string, options: DebounceOptions | DebounceByNameOptions, ...rest: unknown[]): WorkflowStarter<unknown> | Promise<WorkflowHandle> {
    const debouncer = (this.debouncer ??= new WorkflowDebouncer(this.backend.system, this.backend.lifecycle));
    if ('workflowName' in options) return debouncer.debounceByName(key, options, rest).then((id) => this.retrieve(id));
    const type = rest[0] as ClassType;
    if (typeof type !== 'function') throw new DbosInvalidArgumentError('debounce(key, options, Type): pass the workflow class, or options.workflowName.');
    return workflowStarter(async (methodName, args) => {
      const target = this.requireLocal('debounce() with a class', 'Debounce by name: debounce(key, { ...options, workflowName }, ...args).');
      return this.retrieve(await debouncer.debounce(key, options, target.debounceTarget(type, methodName, options), args));
    });
  }

  /** Depth (ENQUEUED) and running (PENDING) count of every queue with work (on the read replica with `database.readUrl`). */
  queueStats(): Promise<QueueStats[]> {
    return this.backend.reads.queueStats();
  }

  retrieve<R = unknown>(workflowId: string): WorkflowHandle<R> {
    return new WorkflowHandle<R>(workflowId, this.backend);
  }

  /**
   * The results of the workflows of `handles`, in their order, waited for together (one waiter
   * and one read per wake over the whole set, however many). Rejects as soon as one is known to
   * have failed, with the error its `getResult()` would throw. See docs/fan-out.md.
   */
  waitAll<const T extends readonly WorkflowHandle<unknown>[]>(handles: T, options: WaitForHandlesOptions = {}): Promise<ResultsOf<T>> {
    return waitAll(this.backend, handles, options) as Promise<ResultsOf<T>>;
  }

  /** The first of `handles` whose workflow finishes (in success or failure); the same handle object. */
  async waitFirst<H extends WorkflowHandle<unknown>>(handles: readonly H[], options: WaitForHandlesOptions = {}): Promise<H> {
    return handles[await waitFirstIndex(this.backend, handles, options)];
  }

  /**
   * The workflow's status, or null when no workflow has that id; with `loadPayloads`, its input and
   * output too. Read on the primary (a status decides); `fromReplica: true` reads it on the replica.
   */
  async getStatus(workflowId: string, options: GetStatusOptions = {}): Promise<WorkflowStatusInfo | null> {
    return this.retrieve(workflowId).getStatus(options);
  }

  /**
   * Sends a message to a workflow; with an idempotency key, a repeated send to it delivers nothing.
   * With `entityManager` it is written in that TypeORM transaction, delivered once it commits.
   */
  async send(workflowId: string, message: unknown, topic?: string, options: SendOptions = {}): Promise<void> {
    const result = await this.inserter.send(
      {
        messageId: randomUUID(),
        idempotencyKey: options.idempotencyKey,
        destinationId: workflowId,
        topic: topic ?? '',
        message: serialize(message, 'the message'),
      },
      options.entityManager,
    );
    if (result === 'not-found') throw new DbosNotFoundError(`Cannot send to workflow "${workflowId}": no workflow has that id.`);
  }

  /** The latest value of a workflow's event; waits for it to be set, null at the timeout (default 60 s). */
  async getEvent<T = unknown>(workflowId: string, key: string, options: { timeoutMs?: number } = {}): Promise<T | null> {
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_WAIT_MS);
    const found = await this.backend.listener.waitUntil(
      [eventKey(workflowId)],
      (heard) => this.backend.communication.getEvent(workflowId, key, heard),
      deadline,
    );
    return found ? deserialize<T>(found.value) : null;
  }

  /** The values of a workflow's stream as they are written; ends when the stream is closed or the workflow ends. */
  readStream<T = unknown>(workflowId: string, key: string, signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
    return this.streams.read<T>(workflowId, key, signal);
  }

  /** `readStream` as an rxjs Observable (for `@Sse()`); unsubscribing stops the reader. */
  stream$<T = unknown>(workflowId: string, key: string): Observable<T> {
    return this.streams.values$<T>(workflowId, key);
  }

  /**
   * The stream as server-sent events, ready to return from an `@Sse()` handler: each value is an
   * event `{ data, id }` (id: its offset in the stream). Rejects with DbosNotFoundError for an
   * unknown workflow before the event stream starts, so DbosExceptionFilter answers 404:
   * `@Sse(':id/progress') progress(@Param('id') id: string) { return this.client.sse$(id, 'progress'); }`
   */
  async sse$<T = unknown>(workflowId: string, key: string): Promise<Observable<StreamEvent<T>>> {
    await this.requireWorkflow(workflowId);
    return this.streams.events$<T>(workflowId, key);
  }

  /**
   * `stream$` once the workflow is known to exist; rejects with DbosNotFoundError when it does not.
   * For `@Sse()`: `async progress(id) { return (await client.openStream$(id, key)).pipe(...) }`.
   * Nest sends the event-stream headers before an Observable's first database answer, so an error
   * of `stream$` arrives as an `event: error` in a 200; this rejects first, so the exception
   * filters answer (404 with DbosExceptionFilter).
   */
  async openStream$<T = unknown>(workflowId: string, key: string): Promise<Observable<T>> {
    await this.requireWorkflow(workflowId);
    return this.stream$<T>(workflowId, key);
  }

  private async requireWorkflow(workflowId: string): Promise<void> {
    if (!(await this.backend.listing.get(workflowId))) throw new DbosNotFoundError(`No workflow has the id "${workflowId}".`);
  }

  /** Workflows matching the filters (`attributes`: only those whose attributes include every pair); on the read replica with `database.readUrl` (it may lag: docs/replicas.md). */
  async list(options: ListWorkflowsOptions = {}): Promise<WorkflowStatusInfo[]> {
    attributesFilter(options.attributes);
    const rows = await this.backend.reads.list(options);
    return rows.map((row) => toStatusInfo(row, options.loadPayloads !== false));
  }

  /**
   * One page of `list()` in keyset order: `{ workflows, nextCursor }`. Pass `nextCursor` back as
   * `cursor` (same filters, same `sortDesc`) for the next page; each page costs the same however
   * deep it is, unlike `offset`. `limit` defaults to 100.
   */
  async listPage(options: Omit<ListWorkflowsOptions, 'offset'> = {}): Promise<WorkflowPage> {
    const limit = options.limit ?? 100;
    attributesFilter(options.attributes);
    const rows = await this.backend.reads.list({ ...options, limit });
    const last = rows[rows.length - 1];
    return {
      workflows: rows.map((row) => toStatusInfo(row, options.loadPayloads !== false)),
      nextCursor: rows.length === limit && last ? encodeListCursor(last, options.sortDesc === true, listOrderOf(options)) : null,
    };
  }

  /** The recorded steps (on the read replica with `database.readUrl`); DbosNotFoundError, checked on the primary, for an unknown id. */
  async listSteps(workflowId: string): Promise<StepInfo[]> {
    const rows = await this.backend.reads.steps(workflowId);
    if (rows.length === 0 && !(await this.backend.listing.get(workflowId))) {
      throw new DbosNotFoundError(`No workflow has the id "${workflowId}".`);
    }
    return rows.map(toStepInfo);
  }

  /**
   * Cancels workflows (one id or many) and their children: each stops before its next step. Many
   * ids are cancelled at once, all or nothing: a queue never starts some of them between the
   * others, and when an id is unknown nothing is cancelled (DbosNotFoundError names the unknown ids).
   */
  cancel(workflowIds: string | string[]): Promise<void> {
    return this.admin.cancel(([] as string[]).concat(workflowIds));
  }

  /**
   * Continues a CANCELLED or failed workflow from its last completed step. With
   * `applicationVersion`, also moves a PENDING or ENQUEUED workflow of another version to it
   * (after a deploy, for workflows no live executor of their version will finish).
   */
  resume<R = unknown>(workflowId: string, options?: ResumeOptions): Promise<WorkflowHandle<R>>;
  resume<R = unknown>(workflowIds: string[], options?: ResumeOptions): Promise<WorkflowHandle<R>[]>;
  async resume<R = unknown>(workflowIds: string | string[], options: ResumeOptions = {}): Promise<WorkflowHandle<R> | WorkflowHandle<R>[]> {
    const handles: WorkflowHandle<R>[] = [];
    for (const workflowId of ([] as string[]).concat(workflowIds)) {
      await this.admin.resume(workflowId, options);
      handles.push(this.retrieve<R>(workflowId));
    }
    return Array.isArray(workflowIds) ? handles : handles[0];
  }

  /** A new workflow reusing the recorded steps of `workflowId` before `fromStep` (many ids: one fork each). */
  fork<R = unknown>(workflowId: string, options: ForkOptions): Promise<WorkflowHandle<R>>;
  fork<R = unknown>(workflowIds: string[], options: Omit<ForkOptions, 'workflowId'>): Promise<WorkflowHandle<R>[]>;
  async fork<R = unknown>(workflowIds: string | string[], options: ForkOptions): Promise<WorkflowHandle<R> | WorkflowHandle<R>[]> {
    const handles: WorkflowHandle<R>[] = [];
    for (const workflowId of ([] as string[]).concat(workflowIds)) {
      const forkOptions = Array.isArray(workflowIds) ? { ...options, workflowId: undefined } : options;
      handles.push(this.retrieve<R>(await this.admin.fork(workflowId, forkOptions)));
    }
    return Array.isArray(workflowIds) ? handles : handles[0];
  }

  /**
   * Deletes finished workflows created before `date` and everything they own, oldest first;
   * returns how many. It deletes `batchSize` workflows per transaction (default 500) and, after
   * each batch, waits `pauseRatio` times as long as the batch took (default 3: a quarter of the
   * time deleting, so running workflows keep most of the server; 0 deletes flat out).
   */
  deleteOlderThan(date: Date, options: { batchSize?: number; pauseRatio?: number } = {}): Promise<number> {
    return this.backend.admin.deleteFinishedBefore(date.getTime(), options.batchSize, options.pauseRatio);
  }

  /**
   * Changes the priority of a workflow waiting on its queue (ENQUEUED): lower runs first, on a
   * queue declared with `priorityEnabled` (elsewhere it is kept but not used). DbosConflictError
   * once a queue has started it; DbosNotFoundError for an unknown id.
   */
  setPriority(workflowId: string, priority: number): Promise<void> {
    return this.admin.setPriority(workflowId, priority);
  }

  /**
   * Makes a workflow waiting on its queue (ENQUEUED) start no earlier than `delayMs` from now (0:
   * at once), shorter or longer than its delay was; the queue's dispatchers are woken to keep the
   * new time. DbosConflictError once a queue has started it; DbosNotFoundError for an unknown id.
   */
  setDelay(workflowId: string, delayMs: number): Promise<void> {
    return this.admin.setDelay(workflowId, delayMs);
  }

  /**
   * Deletes a finished workflow and everything it owns (steps, messages to it, events, streams,
   * idempotency keys); with `children`, its child workflows too, recursively. An unfinished one is
   * refused (DbosConflictError) unless `force`: it is then cancelled first, so its runner stops,
   * and deleted. Returns the ids deleted.
   */
  delete(workflowId: string, options: DeleteWorkflowOptions = {}): Promise<string[]> {
    return this.admin.delete(workflowId, options);
  }

  async close(): Promise<void> {
    await this.backend.close?.();
  }

  private requireLocal(operation: string, byName = 'Start workflows by name with enqueue().'): LocalWorkflowRuntime {
    if (!this.backend.local) {
      throw new DbosConfigurationError(`${operation} needs the workflow classes of a Nest app; this client was made with WorkflowClient.connect(). ${byName}`);
    }
    return this.backend.local;
  }
}
