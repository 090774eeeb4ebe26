import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { isTerminal, outcomeOf } from '../client/workflow-outcome';
import { WorkflowHandle, type HandleBackend } from '../client/workflow.handle';
import { delay, setLongTimeout } from '../common/delay';
import { linkSignals } from '../common/linked-signal';
import { workflowContextStorage, type WorkflowContextStore } from '../context/workflow-context.storage';
import type { StepRegistration, WorkflowRegistration, WorkflowRegistry } from '../discovery/workflow.registry';
import { DbosConfigurationError } from '../errors/configuration.error';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import { DbosMaxRecoveryAttemptsError } from '../errors/max-recovery-attempts.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import { DbosSerializationError } from '../errors/serialization.error';
import { DbosTimeoutError } from '../errors/timeout.error';
import { DbosWorkflowCancelledError } from '../errors/workflow-cancelled.error';
import type { QueueOptions } from '../interfaces/dbos-module-options.interface';
import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import { deserialize, deserializeError, serializeError } from '../serialization/value.codec';
import type { CheckpointRepository } from '../system-database/checkpoint.repository';
import type { CommunicationRepository } from '../system-database/communication.repository';
import type { OperationOutputRow } from '../system-database/entities/operation-output.entity';
import type { WorkflowStatusRow } from '../system-database/entities/workflow-status.entity';
import type { NotificationListener } from '../system-database/notification.listener';
import type { QueueRepository } from '../system-database/queue.repository';
import type { SystemDatabase } from '../system-database/system-database';
import { backoff } from '../system-database/system-database';
import { INTERNAL_QUEUE, type WorkflowAdmin } from '../system-database/workflow-admin';
import type { WorkflowStatusRepository } from '../system-database/workflow-status.repository';
import { checkEnqueueOptions, resolveExisting } from './enqueue';
import { workflowBodyStore, type ExecutionState } from './execution-state';
import { checkWorkflowId, serializeWithin } from './limits';
import { DbosRunSuperseded } from './run-superseded';
import { DbosShutdownInterrupt } from './shutdown-interrupt';
import { interruption, isTransient, StepRunner } from './step.runner';

export interface ExecutorSettings {
  executorId: string;
  applicationVersion: string;
  maxRecoveryAttempts: number;
  shutdownTimeoutMs: number;
  /** Largest serialized input, output, message or event accepted. */
  maxPayloadBytes: number;
  /** The executor lease: without a successful heartbeat for half of it, no new step starts until ownership is re-confirmed. */
  executorLeaseMs: number;
}

export interface ExecutorDependencies {
  system: SystemDatabase;
  statuses: WorkflowStatusRepository;
  checkpoints: CheckpointRepository;
  communication: CommunicationRepository;
  listener: NotificationListener;
  registry: WorkflowRegistry;
  admin: WorkflowAdmin;
  queues: QueueRepository;
  transactionDataSource: DataSource;
}

interface StartContext {
  parentWorkflowId?: string;
  parentDeadline?: number | null;
}

interface RunningWorkflow {
  promise: Promise<unknown>;
  state: ExecutionState;
  queueName: string | null;
  /** Cancels the deadline timer. */
  disarm?: () => void;
}

/**
 * Runs workflows durably: records the start, checkpoints every step by call order, replays
 * recorded steps after a restart, enforces deadlines and cancellation, records the outcome.
 */
export class WorkflowExecutor {
  private readonly logger = new Logger(WorkflowExecutor.name);
  private readonly running = new Map<string, RunningWorkflow>();
  /** Workflows between "claimed here" and running (reading their checkpoints). */
  private readonly launching = new Set<string>();
  /** Starts in flight per workflow id (between the insert and the launch). */
  private readonly starting = new Map<string, number>();
  /** When a heartbeat last succeeded (monotonic ms), and how often heartbeats came back after going stale. */
  private lastHeartbeatAt = performance.now();
  private heartbeatGeneration = 0;
  private heartbeating = false;
  private readonly stopping = new AbortController();
  private readonly queueSlotCallbacks: ((queueName: string) => void)[] = [];
  readonly steps: StepRunner;
  readonly handles: HandleBackend;

  constructor(
    private readonly deps: ExecutorDependencies,
    readonly settings: ExecutorSettings,
  ) {
    this.steps = new StepRunner(deps.checkpoints, deps.system, deps.transactionDataSource, this.logger, this.stopping.signal, settings, (state) =>
      this.confirmOwnership(state),
    );
    this.handles = { statuses: deps.statuses, listener: deps.listener, local: this };
    // Every waiting workflow listens to it: thousands of listeners are expected, not a leak.
    setMaxListeners(0, this.stopping.signal);
  }

  /** Aborted when the process stops taking work: long waits end with DbosShutdownInterrupt. */
  get stopSignal(): AbortSignal {
    return this.stopping.signal;
  }

  get isAccepting(): boolean {
    return !this.stopping.signal.aborted;
  }

  handle<R>(workflowId: string): WorkflowHandle<R> {
    return new WorkflowHandle<R>(workflowId, this.handles);
  }

  /** Calling a @Workflow method: run it durably and return its result (from a workflow: as a child). */
  async callWorkflow(registration: WorkflowRegistration, args: unknown[]): Promise<unknown> {
    if (workflowBodyStore()) {
      const handle = await this.startChild(registration, args, {});
      return handle.getResult();
    }
    const workflowId = await this.startWorkflow(registration, args, {});
    return this.awaitResult(workflowId);
  }

  /** A child workflow of the running workflow: deterministic id, checkpointed start and result. */
  async startChild(registration: WorkflowRegistration, args: unknown[], options: StartWorkflowOptions): Promise<WorkflowHandle<unknown>> {
    const store = workflowBodyStore()!;
    const parent = store.run;
    const childId = await this.steps.runOperation(
      store,
      'DBOS.startWorkflow',
      async (stepId) => {
        const workflowId = options.workflowId ?? `${parent.workflowId}-${stepId}`;
        await this.startWorkflow(registration, args, { ...options, workflowId }, { parentWorkflowId: parent.workflowId, parentDeadline: parent.deadline });
        return workflowId;
      },
      (workflowId) => workflowId,
    );
    return new ChildWorkflowHandle(childId, this.handles, this.steps);
  }

  /**
   * Records the workflow and starts it in the background. An id that exists is never run again:
   * its id is returned (or DbosConflictError when it belongs to another workflow).
   */
  async startWorkflow(registration: WorkflowRegistration, args: unknown[], options: StartWorkflowOptions, context: StartContext = {}): Promise<string> {
    this.assertAccepting();
    const inputs = serializeWithin(args, `the arguments of workflow ${registration.name}`, this.settings.maxPayloadBytes);
    const workflowId = options.workflowId ?? randomUUID();
    checkWorkflowId(workflowId);
    const queued = options.queue !== undefined;
    if (queued) this.queueCheck(options);
    this.starting.set(workflowId, (this.starting.get(workflowId) ?? 0) + 1);
    try {
      return await this.insertAndLaunch(registration, args, inputs, workflowId, options, context);
    } finally {
      const left = this.starting.get(workflowId)! - 1;
      if (left === 0) this.starting.delete(workflowId);
      else this.starting.set(workflowId, left);
    }
  }

  private async insertAndLaunch(
    registration: WorkflowRegistration,
    args: unknown[],
    inputs: string,
    workflowId: string,
    options: StartWorkflowOptions,
    context: StartContext,
  ): Promise<string> {
    const queued = options.queue !== undefined;
    const now = Date.now();
    const timeoutMs = options.timeoutMs ?? registration.options.timeoutMs ?? null;
    // A queued workflow's deadline starts when it is dequeued.
    const deadline = queued ? context.parentDeadline ?? null : earliest(timeoutMs === null ? null : now + timeoutMs, context.parentDeadline ?? null);
    const result = await this.deps.statuses.insert({
      workflowId,
      status: queued ? 'ENQUEUED' : 'PENDING',
      workflowName: registration.name,
      className: registration.className,
      inputs,
      executorId: queued ? null : this.settings.executorId,
      applicationVersion: this.settings.applicationVersion,
      queueName: options.queue ?? null,
      priority: options.priority ?? 0,
      deduplicationId: options.deduplicationId ?? null,
      partitionKey: options.partitionKey ?? null,
      delayUntil: options.delayMs ? now + options.delayMs : null,
      timeoutMs,
      deadline,
      parentWorkflowId: context.parentWorkflowId ?? null,
      forkedFrom: null,
      startedAt: queued ? null : now,
      createdAt: now,
      updatedAt: now,
    });
    if (!result.inserted) {
      const id = await resolveExisting(this.deps.queues, result.existing, registration.name, workflowId, options);
      if (id === workflowId && result.existing) this.runIfOrphaned(registration, result.existing);
      return id;
    }
    if (!queued) this.launch(registration, workflowId, args, null, deadline, null, 0);
    return workflowId;
  }

  /**
   * A start of an id that is PENDING on this executor but runs nowhere here (its first start's
   * insert committed, but the reply was lost; a launch failed): run it now, not at the next restart.
   */
  private runIfOrphaned(registration: WorkflowRegistration, row: WorkflowStatusRow): void {
    if (row.status !== 'PENDING' || row.executorId !== this.settings.executorId || row.applicationVersion !== this.settings.applicationVersion) return;
    // Another start of this id is between its insert and its launch: it runs it.
    if (this.hasRunner(row.workflowId) || (this.starting.get(row.workflowId) ?? 0) > 1) return;
    void this.resumePending(row, registration).catch((err: Error) =>
      this.logger.error(`Could not run workflow ${row.workflowId}, PENDING here without a runner: ${err.message}; the periodic sweep tries again.`),
    );
  }

  /** True while this process runs the workflow or is launching it. */
  private hasRunner(workflowId: string): boolean {
    return this.running.has(workflowId) || this.launching.has(workflowId);
  }

  /** True while this process runs the workflow, is about to, or is starting it. */
  isBusy(workflowId: string): boolean {
    return this.hasRunner(workflowId) || this.starting.has(workflowId);
  }

  /**
   * The result of a workflow running in this process, or undefined when it does not run here.
   * A run that ends without an outcome because it was superseded (resumed or adopted elsewhere)
   * hands over to the database: the awaiter gets the outcome of the run that owns it now.
   */
  localResult(workflowId: string): Promise<unknown> | undefined {
    const promise = this.running.get(workflowId)?.promise;
    return promise?.catch((err: unknown) => {
      if (err instanceof DbosRunSuperseded) return this.handle(workflowId).getResult();
      throw err;
    });
  }

  isRunningHere(workflowId: string): boolean {
    return this.running.has(workflowId);
  }

  runningWorkflowIds(): string[] {
    return [...this.running.keys()];
  }

  runStep(registration: StepRegistration, instance: object, args: unknown[]): Promise<unknown> {
    return this.steps.runStep(registration, instance, args);
  }

  runTransaction(registration: StepRegistration, instance: object, args: unknown[]): Promise<unknown> {
    return this.steps.runTransaction(registration, instance, args);
  }

  /**
   * Runs a workflow adopted from a silent executor or claimed for recovery, unless it used up its
   * recoveries. A queued one was put back on its queue by the claim: the dispatcher runs it.
   */
  async runAdopted(registration: WorkflowRegistration, row: WorkflowStatusRow): Promise<boolean> {
    if (await this.exceededRecoveries(registration, row)) return false;
    if (row.status === 'PENDING') await this.launchFromCheckpoints(registration, row);
    return true;
  }

  /** Marks a claimed workflow (PENDING here, or put back on its queue) MAX_RECOVERY_ATTEMPTS_EXCEEDED once it used them up. */
  private async exceededRecoveries(registration: WorkflowRegistration, row: WorkflowStatusRow): Promise<boolean> {
    const maxAttempts = registration.options.maxRecoveryAttempts ?? this.settings.maxRecoveryAttempts;
    if (row.recoveryAttempts <= maxAttempts) return false;
    const error = serializeError(new DbosMaxRecoveryAttemptsError(row.workflowId, maxAttempts));
    await this.deps.statuses.transition(row.workflowId, [row.status], 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', error);
    this.logger.error(`Workflow ${row.workflowId} (${row.workflowName}) exceeded ${maxAttempts} recovery attempts and will not be resumed.`);
    return true;
  }

  /**
   * Resumes a PENDING workflow of this executor from its checkpoints (recovery, the sweep). A
   * workflow that came from a queue goes back to it instead, so the queue's limits (worker
   * concurrency included) decide when it runs. False when there was nothing to resume.
   */
  async resumePending(row: WorkflowStatusRow, registration: WorkflowRegistration): Promise<boolean> {
    const { workflowId } = row;
    if (this.hasRunner(workflowId) || !this.isAccepting) return false;
    // Reserved while claiming, and claimed only at the epoch read: two resumers (sweep, start, recovery) never both win.
    this.launching.add(workflowId);
    try {
      const claimed = await this.deps.statuses.claimForRecovery(workflowId, this.settings.executorId, row.runEpoch);
      if (!claimed) return false;
      if (await this.exceededRecoveries(registration, claimed)) return false;
      if (claimed.status === 'PENDING') await this.loadAndLaunch(registration, claimed, true);
      return true;
    } finally {
      this.launching.delete(workflowId);
    }
  }

  /** Runs a workflow whose row is PENDING on this executor, replaying what it recorded so far. */
  async launchFromCheckpoints(registration: WorkflowRegistration, row: WorkflowStatusRow, hasSteps = true): Promise<void> {
    const { workflowId } = row;
    // Already run here by this epoch or a newer one (an older run is superseded by launch()).
    if ((this.running.get(workflowId)?.state.epoch ?? -1) >= row.runEpoch || this.launching.has(workflowId)) return;
    if (row.status !== 'PENDING' || row.executorId !== this.settings.executorId) return;
    this.launching.add(workflowId);
    try {
      await this.loadAndLaunch(registration, row, hasSteps);
    } finally {
      this.launching.delete(workflowId);
    }
  }

  /** Reads the inputs and checkpoints of a workflow claimed here and launches its run. */
  private async loadAndLaunch(registration: WorkflowRegistration, row: WorkflowStatusRow, hasSteps: boolean): Promise<void> {
    const { workflowId } = row;
    let args: unknown[];
    try {
      args = deserialize<unknown[]>(row.inputs) ?? [];
    } catch (err) {
      // Inputs that cannot be read will never run: fail the workflow with a clear error instead of retrying forever.
      const error = new DbosSerializationError(`the recorded arguments of workflow "${workflowId}"`, `they are corrupt (${(err as Error).message})`);
      await this.deps.statuses.transition(workflowId, ['PENDING'], 'ERROR', serializeError(error));
      this.logger.error(error.message);
      return;
    }
    // This row is PENDING here now: it must start, so a blip while reading its checkpoints is waited out.
    let steps: OperationOutputRow[] = [];
    for (let attempt = 1; hasSteps; attempt++) {
      try {
        steps = await this.deps.checkpoints.loadAll(workflowId);
        break;
      } catch (err) {
        if (!(err instanceof DbosDatabaseUnavailableError) || !this.isAccepting) throw err;
        const wait = backoff(attempt);
        this.logger.warn(`Could not read the checkpoints of ${workflowId} (attempt ${attempt}), retrying in ${wait} ms: ${(err as Error).message}`);
        await delay(wait, this.stopSignal);
      }
    }
    this.launch(registration, workflowId, args, hasSteps ? new Map(steps.map((s) => [s.stepId, s])) : null, row.deadline, row.queueName, row.runEpoch);
  }

  private launch(
    registration: WorkflowRegistration,
    workflowId: string,
    args: unknown[],
    recorded: Map<number, OperationOutputRow> | null,
    deadline: number | null,
    queueName: string | null,
    epoch: number,
  ): void {
    // One run per workflow per process. A run of an older epoch (it lost the workflow, e.g. to a
    // remote cancel and resume that sent it back through its queue) stops first; a second launch
    // of the same epoch is a no-op.
    const previous = this.running.get(workflowId);
    if (previous) {
      if (previous.state.epoch >= epoch) return;
      previous.state.abort.abort(new DbosRunSuperseded(workflowId));
      void previous.promise
        .catch(() => undefined)
        .then(() => this.launch(registration, workflowId, args, recorded, deadline, queueName, epoch));
      return;
    }
    const abort = new AbortController();
    // The run's steps and waits share one signal; its listener on the stop signal goes when the run ends.
    const linked = linkSignals(abort.signal, this.stopSignal);
    const state: ExecutionState = {
      workflowId, workflowName: registration.name, nextStepId: 0, recorded, deadline, abort, signal: linked.signal,
      epoch, confirmedGeneration: this.heartbeatGeneration, interrupted: false,
    };
    const promise = this.runToCompletion(registration, { run: state }, args);
    const entry: RunningWorkflow = { promise, state, queueName };
    if (deadline !== null) entry.disarm = this.armDeadline(workflowId, deadline);
    this.running.set(workflowId, entry);
    const forget = () => {
      linked.dispose();
      entry.disarm?.();
      this.running.delete(workflowId);
      if (queueName !== null) for (const callback of this.queueSlotCallbacks) callback(queueName);
    };
    promise.then(forget, forget);
  }

  /** Workflows of `queueName` running in this process (its worker concurrency). */
  runningOnQueue(queueName: string): number {
    let count = 0;
    for (const entry of this.running.values()) if (entry.queueName === queueName) count++;
    return count;
  }

  /** Called whenever a queued workflow running here ends: its slot is free. */
  onQueuedWorkflowFinished(callback: (queueName: string) => void): void {
    this.queueSlotCallbacks.push(callback);
  }

  /**
   * Runs the workflow to its recorded outcome. When the database goes away midway, the run stops
   * where it is (nothing transient is recorded), waits for the database, and replays from the
   * checkpoints: workflows pause during an outage and continue after it.
   */
  private async runToCompletion(registration: WorkflowRegistration, store: WorkflowContextStore & { run: ExecutionState }, args: unknown[]): Promise<unknown> {
    for (let outage = 1; ; outage++) {
      try {
        return await this.runOnce(registration, store, args);
      } catch (err) {
        if (!(err instanceof DbosDatabaseUnavailableError) || !this.isAccepting) throw err;
        const { workflowId } = store.run;
        const pause = backoff(outage);
        this.logger.warn(`Workflow ${workflowId} paused (connection lost, ${outage} time(s)), replaying in ${pause} ms: ${(err as Error).message}`);
        await delay(pause, this.stopSignal);
        let replay = await this.replayState(store.run);
        for (let again = 1; replay === undefined; again++) {
          // Lost again while re-reading: back to waiting (never a rerun from a stale position).
          await delay(backoff(outage + again), this.stopSignal);
          replay = await this.replayState(store.run);
        }
        if ('finished' in replay) return outcomeOf(replay.finished);
        store = { run: replay.state };
        this.logger.log(`Workflow ${workflowId} continues from its checkpoints`);
      }
    }
  }

  /**
   * After an outage: waits for the database, then reads what the run needs to replay. Undefined
   * when the database went away again meanwhile. A workflow that finished or was cancelled
   * meanwhile gives its outcome; one that another run took over (adopted, resumed) stops here.
   */
  private async replayState(run: ExecutionState): Promise<{ state: ExecutionState } | { finished: WorkflowStatusRow } | undefined> {
    const { workflowId } = run;
    try {
      await this.deps.system.waitUntilAvailable(this.stopSignal, (attempt, wait, cause) =>
        this.logger.warn(`Database unavailable (attempt ${attempt}), retrying in ${wait} ms: ${cause.message}`),
      );
      const current = await this.deps.statuses.get(workflowId);
      // Finished or cancelled meanwhile (e.g. a cancel we could not hear): that state wins.
      if (current && isTerminal(current.status)) return { finished: current };
      if (!current || current.runEpoch !== run.epoch || current.executorId !== this.settings.executorId) {
        throw new DbosRunSuperseded(workflowId);
      }
      const steps = await this.deps.checkpoints.loadAll(workflowId);
      return {
        state: { ...run, nextStepId: 0, recorded: new Map(steps.map((s) => [s.stepId, s])), confirmedGeneration: this.heartbeatGeneration, interrupted: false },
      };
    } catch (err) {
      if (err instanceof DbosDatabaseUnavailableError && this.isAccepting) return undefined;
      throw err;
    }
  }

  private async runOnce(registration: WorkflowRegistration, store: WorkflowContextStore & { run: ExecutionState }, args: unknown[]): Promise<unknown> {
    let result: unknown;
    try {
      result = await workflowContextStorage.run(store, () => registration.method.apply(registration.instance, args));
    } catch (err) {
      if (isTransient(err)) throw err;
      // Cancelled (or timed out): the status row already says so; recording an error here could
      // overwrite a resume that reopened the workflow meanwhile.
      if (store.run.abort.signal.aborted) throw store.run.abort.signal.reason;
      // Shutdown began: what failed may be a client closing under the app; the next start finishes it.
      if (this.stopping.signal.aborted) throw new DbosShutdownInterrupt(store.run.workflowId);
      return this.finish(store.run, 'ERROR', null, serializeError(err), err);
    }
    // The body caught an interruption (a shutdown, a lost outage) and returned anyway: its result
    // is not the workflow's; the next start replays it properly.
    if (store.run.interrupted && this.stopping.signal.aborted) throw new DbosShutdownInterrupt(store.run.workflowId);
    let output: string;
    try {
      output = serializeWithin(result, `the result of workflow ${registration.name}`, this.settings.maxPayloadBytes);
    } catch (err) {
      return this.finish(store.run, 'ERROR', null, serializeError(err), err);
    }
    return this.finish(store.run, 'SUCCESS', output, null, result);
  }

  /**
   * Records the outcome, fenced by the run's epoch. If the row had already left PENDING
   * (cancelled, finished elsewhere) that state wins; if another run owns it now, this one stops.
   */
  private async finish(run: ExecutionState, status: 'SUCCESS' | 'ERROR', output: string | null, error: string | null, value: unknown): Promise<unknown> {
    const { workflowId } = run;
    const recorded = await this.deps.statuses.complete({ workflowId, status, output, error, epoch: run.epoch });
    if (recorded) {
      if (status === 'ERROR') {
        this.logger.warn(`Workflow ${workflowId} (${run.workflowName}) ended in ERROR: ${(value as Error)?.message ?? value}`);
        throw value;
      }
      return value;
    }
    const row = await this.deps.statuses.get(workflowId);
    if (row && isTerminal(row.status)) return outcomeOf(row);
    throw new DbosRunSuperseded(workflowId);
  }

  /** Called by the heartbeat after each successful beat; the first one arms the step gate. */
  noteHeartbeat(): void {
    if (this.heartbeatIsStale()) this.heartbeatGeneration++;
    this.lastHeartbeatAt = performance.now();
    this.heartbeating = true;
  }

  /**
   * Before heartbeats start (workflows run from an onModuleInit, a testing module never
   * initialized) there is no lease to lose: the gate stays open.
   */
  private heartbeatIsStale(): boolean {
    return this.heartbeating && performance.now() - this.lastHeartbeatAt > this.settings.executorLeaseMs / 2;
  }

  /**
   * The gate before every new step. An executor cut off from the database for half its lease may
   * have had its workflows adopted: it starts nothing until its heartbeat is back, and then each
   * run confirms (once) that it still owns its workflow. `force` confirms in any case (a run
   * waking from a sleep, during which it touched no database).
   */
  async confirmOwnership(run: ExecutionState, force = false): Promise<void> {
    if (!force && run.confirmedGeneration === this.heartbeatGeneration && !this.heartbeatIsStale()) return;
    for (let waited = 0; this.heartbeatIsStale(); waited++) {
      if (waited === 0) this.logger.warn(`Workflow ${run.workflowId} waits: no heartbeat for over half the lease; it resumes once ownership is confirmed.`);
      await delay(100, run.abort.signal).catch((err: unknown) => {
        throw interruption(run, err);
      });
      if (this.stopping.signal.aborted) throw interruption(run, new DbosShutdownInterrupt(run.workflowId));
    }
    const generation = this.heartbeatGeneration;
    const owned = await this.deps.statuses.isOwnedBy(run.workflowId, this.settings.executorId, run.epoch).catch((err: unknown) => {
      throw interruption(run, err);
    });
    if (!owned) throw interruption(run, new DbosRunSuperseded(run.workflowId));
    run.confirmedGeneration = generation;
  }

  private armDeadline(workflowId: string, deadline: number): () => void {
    return setLongTimeout(
      () => {
        void this.timeOut(workflowId, deadline).catch((err: Error) =>
          this.logger.error(`Could not time out workflow ${workflowId}: ${err.message}`, err.stack),
        );
      },
      deadline - Date.now(),
      true,
    );
  }

  private async timeOut(workflowId: string, deadline: number): Promise<void> {
    const error = new DbosTimeoutError(workflowId, `timed out at its deadline ${new Date(deadline).toISOString()} and was cancelled.`);
    const cancelled = await this.deps.statuses.cancelTree(workflowId, serializeError(error));
    for (const id of cancelled) this.abortLocal(id, id === workflowId ? error : new DbosTimeoutError(id, `its parent ${workflowId} timed out.`));
  }

  /** Cancels a workflow and its children; running steps see `DbosContext.abortSignal` abort. */
  async cancel(workflowId: string): Promise<void> {
    for (const id of await this.deps.admin.cancel(workflowId)) this.abortLocal(id, new DbosWorkflowCancelledError(id));
  }

  private abortLocal(workflowId: string, reason: Error): void {
    this.running.get(workflowId)?.state.abort.abort(reason);
  }

  /** A status change made by another process: a local run of a cancelled workflow stops. */
  async onStatusChanged(workflowIds: string[]): Promise<void> {
    // The runs as they are now: a run started after the query began (a resume) is not the one cancelled.
    const runs = new Map(workflowIds.filter((id) => this.running.has(id)).map((id) => [id, this.running.get(id)!]));
    if (runs.size === 0) return;
    const owned = [...runs].map(([workflowId, run]) => ({ workflowId, epoch: run.state.epoch }));
    for (const lost of await this.deps.statuses.lostRuns(owned, this.settings.executorId)) {
      // Cancelled: the run stops with the cancel's error. Otherwise another run owns it now (resumed, adopted).
      const reason = lost.status !== 'CANCELLED' ? new DbosRunSuperseded(lost.workflowId) : lost.error ? deserializeError(lost.error) : new DbosWorkflowCancelledError(lost.workflowId);
      runs.get(lost.workflowId)!.state.abort.abort(reason);
    }
  }

  /**
   * Continues a CANCELLED or failed workflow from its last completed step. It runs here when this
   * process has its code and version; else it is queued for an executor that has.
   */
  async resume(workflowId: string, options: { applicationVersion?: string } = {}): Promise<void> {
    const rows = await this.deps.admin.reopen(
      workflowId,
      {
        executorId: this.settings.executorId,
        applicationVersion: this.settings.applicationVersion,
        runnableNames: this.isAccepting ? this.deps.registry.workflowNames() : [],
        fallbackQueue: INTERNAL_QUEUE,
      },
      options.applicationVersion ?? null,
    );
    // Empty: it is running or finished already (or a concurrent resume won).
    for (const row of rows) {
      // An old run of it still unwinding here stops at its next step; the new run starts once it is gone (see launch).
      this.running.get(row.workflowId)?.state.abort.abort(new DbosRunSuperseded(row.workflowId));
      const registration = this.deps.registry.getWorkflow(row.workflowName);
      if (registration && row.status === 'PENDING') await this.launchFromCheckpoints(registration, row);
    }
    if (rows.length > 0) this.logger.log(`Workflow ${workflowId} resumed${rows.length > 1 ? ` with ${rows.length - 1} descendant(s) its cancel had stopped` : ''}`);
  }

  /** A new workflow that reuses the checkpoints (and what they published) before `fromStep`, and runs the rest. */
  async fork(workflowId: string, options: { fromStep: number; applicationVersion?: string; workflowId?: string }): Promise<string> {
    const source = await this.deps.statuses.get(workflowId);
    if (!source) throw new DbosNotFoundError(`No workflow has the id "${workflowId}".`);
    const forkId = options.workflowId ?? randomUUID();
    checkWorkflowId(forkId);
    const version = options.applicationVersion ?? source.applicationVersion;
    const registration = this.runnableHere(source.workflowName, version);
    await this.deps.admin.fork(
      workflowId,
      forkId,
      options.fromStep,
      registration ? { status: 'PENDING', executorId: this.settings.executorId } : { status: 'ENQUEUED', queueName: null },
      version,
    );
    const row = registration ? await this.deps.statuses.get(forkId) : null;
    if (registration && row) await this.launchFromCheckpoints(registration, row);
    this.logger.log(`Workflow ${workflowId} forked from step ${options.fromStep} as ${forkId}`);
    return forkId;
  }

  /** The registration when this process can run a workflow of that name and version now. */
  private runnableHere(workflowName: string, applicationVersion: string | null): WorkflowRegistration | undefined {
    if (!this.isAccepting || applicationVersion !== this.settings.applicationVersion) return undefined;
    return this.deps.registry.getWorkflow(workflowName);
  }

  /**
   * Shutdown has begun: no new work, no new step, and no failure from now on is recorded as an
   * outcome (the clients steps use may be closing): the workflows stay PENDING for the next start.
   */
  stopTakingWork(): void {
    if (!this.stopping.signal.aborted) this.stopping.abort(new DbosShutdownInterrupt());
  }

  /** Stop taking work; wait (bounded) for running workflows to reach a step boundary. */
  async shutdown(): Promise<void> {
    this.stopTakingWork();
    const running = [...this.running.values()].map((r) => r.promise.catch(() => undefined));
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.settings.shutdownTimeoutMs);
    });
    const outcome = await Promise.race([Promise.all(running), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.warn(
        `${this.running.size} workflow(s) still running after ${this.settings.shutdownTimeoutMs} ms; they resume from their last checkpoint after a restart.`,
      );
    }
  }

  /** Set by the dispatcher: the queues this process knows, to refuse typos and misuse at enqueue time. */
  queueLookup?: (name: string) => QueueOptions | undefined;

  private queueCheck(options: StartWorkflowOptions): void {
    const queue = this.queueLookup?.(options.queue!);
    if (!queue) {
      throw new DbosConfigurationError(
        `Queue "${options.queue}" is not declared in this app: add it to DbosModule.forRoot({ queues }) or register it at runtime.`,
      );
    }
    checkEnqueueOptions(queue, options);
  }

  private assertAccepting(): void {
    if (!this.isAccepting) throw new DbosShutdownInterrupt();
  }

  private awaitResult(workflowId: string): Promise<unknown> {
    return this.localResult(workflowId) ?? this.handle(workflowId).getResult();
  }
}

/** A child's handle inside its parent: reading its result or status is a checkpointed operation. */
export class ChildWorkflowHandle<R = unknown> extends WorkflowHandle<R> {
  constructor(
    workflowId: string,
    backend: HandleBackend,
    private readonly steps: StepRunner,
  ) {
    super(workflowId, backend);
  }

  override getResult(options: { timeoutMs?: number } = {}): Promise<R> {
    const store = workflowBodyStore();
    if (!store) return super.getResult(options);
    return this.steps.runOperation(store, 'DBOS.getResult', () => super.getResult(options));
  }

  override getStatus(): ReturnType<WorkflowHandle<R>['getStatus']> {
    const store = workflowBodyStore();
    if (!store) return super.getStatus();
    return this.steps.runOperation(store, 'DBOS.getStatus', () => super.getStatus());
  }
}

function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}
