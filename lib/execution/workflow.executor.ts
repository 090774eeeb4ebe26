import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ChildWorkflowHandle } from '../client/child-workflow.handle';
import { WorkflowHandle, type HandleBackend } from '../client/workflow.handle';
import { backoff } from '../common/backoff.util';
import { delay, setLongTimeout } from '../common/delay.util';
import { LazyLinkedSignal } from '../common/linked-signal.util';
import { workflowContextStorage, type WorkflowContextStore } from '../context/workflow-context.storage';
import type { WorkflowRegistration } from '../discovery/workflow.registry';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import { DbosSerializationError } from '../errors/serialization.error';
import { DbosTimeoutError } from '../errors/timeout.error';
import type { WorkflowEventsBus } from '../events/workflow-events.bus';
import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import type { QueueRegistry } from '../queues/queue.registry';
import { describeWithCauses } from '../serialization/error-cause';
import { deserialize, serializeError } from '../serialization/value.codec';
import type { CheckpointRepository } from '../system-database/checkpoint.repository';
import type { OperationOutputRow, WorkflowStatusRow } from '../system-database/system.rows';
import type { QueueRepository } from '../system-database/queue.repository';
import type { SystemDatabase } from '../system-database/system.database';
import type { AdminRepository } from '../system-database/admin.repository';
import type { ListingRepository } from '../system-database/listing.repository';
import type { CompleteResult, RunLifecycleRepository } from '../system-database/run-lifecycle.repository';
import { checkEnqueueOptions, resolveExisting } from '../workflow/enqueue.checks';
import { checkWorkflowId, serializeWithin } from '../workflow/workflow.limits';
import { isTerminal, outcomeOf } from '../workflow/workflow.outcome';
import { newWorkflowRow } from '../workflow/workflow-row.builder';
import type { ExecutorSettings } from './executor.settings';
import { workflowBodyStore, type ExecutionState } from './execution.state';
import { isTransient } from './interruption.util';
import { untilAvailable } from './until-available.util';
import type { LeaseGate } from './lease.gate';
import { CheckpointTakenError } from './checkpoint-taken.error';
import { DbosRunSuperseded } from './run-superseded.error';
import type { RunningWorkflows } from './running-workflows.table';
import { DbosShutdownInterrupt } from './shutdown-interrupt.error';
import type { StepRunner } from './step.runner';
import { logCancels } from './cancel-log.util';

export interface ExecutorDependencies {
  system: SystemDatabase;
  lifecycle: RunLifecycleRepository;
  listing: ListingRepository;
  admin: AdminRepository;
  checkpoints: CheckpointRepository;
  queues: QueueRepository;
  queueRegistry: QueueRegistry;
  runs: RunningWorkflows;
  gate: LeaseGate;
  steps: StepRunner;
  handles: Omit<HandleBackend, 'local'>;
  events: WorkflowEventsBus;
}

interface StartContext {
  parentWorkflowId?: string;
  parentDeadline?: number | null;
}

type BodyStore = WorkflowContextStore & { run: ExecutionState };

/**
 * Runs workflows durably: records the start, launches the run, replays recorded steps after a
 * restart or an outage, enforces deadlines, records the outcome. Which workflows run here, and
 * since when, is the RunningWorkflows table's business; steps are the StepRunner's.
 */
export class WorkflowExecutor {
  private readonly logger = new Logger(WorkflowExecutor.name);
  readonly handles: HandleBackend;

  constructor(
    private readonly deps: ExecutorDependencies,
    readonly settings: ExecutorSettings,
  ) {
    this.handles = { ...deps.handles, local: this };
  }

  get steps(): StepRunner {
    return this.deps.steps;
  }

  get runs(): RunningWorkflows {
    return this.deps.runs;
  }

  /** Aborted when the process stops taking work: long waits end with DbosShutdownInterrupt. */
  get stopSignal(): AbortSignal {
    return this.deps.runs.stopSignal;
  }

  get isAccepting(): boolean {
    return this.deps.runs.isAccepting;
  }

  handle<R>(workflowId: string): WorkflowHandle<R> {
    return new WorkflowHandle<R>(workflowId, this.handles);
  }

  /** See RunningWorkflows.localResult. */
  localResult(workflowId: string): Promise<unknown> | undefined {
    return this.deps.runs.localResult(workflowId, () => this.handle(workflowId).getResult());
  }

  /** Calling a @Workflow method: run it durably and return its result (from a workflow: as a child). */
  async callWorkflow(registration: WorkflowRegistration, args: unknown[]): Promise<unknown> {
    if (workflowBodyStore()) {
      const handle = await this.startChild(registration, args, {});
      return handle.getResult();
    }
    const workflowId = await this.startWorkflow(registration, args, {});
    return this.localResult(workflowId) ?? this.handle(workflowId).getResult();
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
    return new ChildWorkflowHandle(childId, this.handles, (name, read) => {
      const current = workflowBodyStore();
      return current ? this.steps.runOperation(current, name, read) : read();
    });
  }

  /**
   * Records the workflow and starts it in the background. An id that exists is never run again:
   * its id is returned (or DbosConflictError when it belongs to another workflow).
   */
  async startWorkflow(registration: WorkflowRegistration, args: unknown[], options: StartWorkflowOptions, context: StartContext = {}): Promise<string> {
    this.deps.runs.assertAccepting();
    const inputs = serializeWithin(args, `the arguments of workflow ${registration.name}`, this.settings.maxPayloadBytes);
    const workflowId = options.workflowId ?? randomUUID();
    checkWorkflowId(workflowId);
    if (options.queue !== undefined) checkEnqueueOptions(this.deps.queueRegistry.require(options.queue), options);
    return this.deps.runs.whileStarting(workflowId, () => this.insertAndLaunch(registration, args, inputs, workflowId, options, context));
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
    const timeoutMs = options.timeoutMs ?? registration.options.timeoutMs ?? null;
    const row = newWorkflowRow({
      workflowId,
      workflowName: registration.name,
      className: registration.className,
      inputs,
      applicationVersion: this.settings.applicationVersion,
      options: { ...options, timeoutMs: timeoutMs ?? undefined },
      runsOn: queued ? undefined : this.settings.executorId,
      parentWorkflowId: context.parentWorkflowId,
      parentDeadline: context.parentDeadline,
    });
    const result = await this.deps.lifecycle.insert(row);
    if (!result.inserted) {
      const id = await resolveExisting(this.deps.queues, result.existing, registration.name, workflowId, options);
      if (id === workflowId && result.existing && this.isOrphanedHere(result.existing)) this.deps.runs.reportOrphanedStart(result.existing, registration);
      return id;
    }
    if (!queued) this.launch(registration, workflowId, args, null, row.deadline, null, 0);
    return workflowId;
  }

  /**
   * A start of an id that is PENDING on this executor but runs nowhere here (its first start's
   * insert committed, but the reply was lost; a launch failed): recovery runs it now.
   */
  private isOrphanedHere(row: WorkflowStatusRow): boolean {
    if (row.status !== 'PENDING' || row.executorId !== this.settings.executorId || row.applicationVersion !== this.settings.applicationVersion) return false;
    // Another start of this id is between its insert and its launch: it runs it.
    return !this.deps.runs.hasRunner(row.workflowId) && this.deps.runs.startsInFlight(row.workflowId) <= 1;
  }

  /**
   * Runs a workflow whose row is PENDING on this executor, replaying what it recorded so far
   * (`preloaded`: its checkpoints, read already with those of a batch).
   */
  async launchFromCheckpoints(registration: WorkflowRegistration, row: WorkflowStatusRow, hasSteps = true, preloaded?: OperationOutputRow[]): Promise<void> {
    const { workflowId } = row;
    // Already run here by this epoch or a newer one (an older run is superseded by launch()).
    if ((this.deps.runs.get(workflowId)?.state.epoch ?? -1) >= row.runEpoch || this.deps.runs.isLaunching(workflowId)) return;
    if (row.status !== 'PENDING' || row.executorId !== this.settings.executorId) return;
    await this.deps.runs.whileLaunching(workflowId, () => this.loadAndLaunch(registration, row, hasSteps, preloaded));
  }

  /** Reads the inputs and checkpoints (unless `preloaded`) of a workflow claimed here and launches its run. */
  async loadAndLaunch(registration: WorkflowRegistration, row: WorkflowStatusRow, hasSteps: boolean, preloaded?: OperationOutputRow[]): Promise<void> {
    const { workflowId } = row;
    let args: unknown[];
    try {
      args = deserialize<unknown[]>(row.inputs) ?? [];
    } catch (err) {
      // Inputs that cannot be read will never run: fail the workflow with a clear error instead of retrying forever.
      const error = new DbosSerializationError(`the recorded arguments of workflow "${workflowId}"`, `they are corrupt (${(err as Error).message})`);
      if (await this.deps.lifecycle.transition(workflowId, ['PENDING'], 'ERROR', serializeError(error))) {
        this.logger.error(`Workflow ${workflowId} (${registration.name}) ended in ERROR: ${describeWithCauses(error)}`);
        this.deps.events.emit({ type: 'failed', workflowId, workflowName: registration.name, status: 'ERROR', error });
      }
      return;
    }
    // This row is PENDING here now: it must start, so a blip while reading its checkpoints is waited out.
    const steps =
      preloaded ??
      (hasSteps ? await untilAvailable(`the checkpoints of ${workflowId}`, this.stopSignal, this.logger, () => this.deps.checkpoints.loadAll(workflowId)) : []);
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
    const previous = this.deps.runs.get(workflowId);
    if (previous) {
      if (previous.state.epoch >= epoch) return;
      previous.state.abort.abort(new DbosRunSuperseded(workflowId));
      void previous.promise.catch(() => undefined).then(() => this.launch(registration, workflowId, args, recorded, deadline, queueName, epoch));
      return;
    }
    const abort = new AbortController();
    // The run's steps and waits share one signal, made when one first needs it; its listener on
    // the stop signal goes when the run ends.
    const linked = new LazyLinkedSignal([abort.signal, this.stopSignal]);
    const state: ExecutionState = {
      workflowId,
      workflowName: registration.name,
      nextStepId: 0,
      recorded,
      deadline,
      abort,
      get signal() {
        return linked.signal;
      },
      epoch,
      confirmedGeneration: this.deps.gate.generation,
      interrupted: false,
    };
    const promise = this.runToCompletion(registration, { run: state }, args);
    const disarm = deadline === null ? undefined : this.armDeadline(workflowId, deadline);
    this.deps.runs.add(workflowId, { promise, state, queueName, disarm }, () => linked.dispose());
  }

  /**
   * Runs the workflow to its recorded outcome. When the database goes away midway, the run stops
   * where it is (nothing transient is recorded), waits for the database, and replays from the
   * checkpoints: workflows pause during an outage and continue after it.
   */
  private async runToCompletion(registration: WorkflowRegistration, store: BodyStore, args: unknown[]): Promise<unknown> {
    for (let outage = 1; ; outage++) {
      try {
        return await this.runOnce(registration, store, args);
      } catch (err) {
        const taken = err instanceof CheckpointTakenError;
        if (!(taken || err instanceof DbosDatabaseUnavailableError) || !this.isAccepting) throw err;
        const { workflowId } = store.run;
        if (taken) {
          this.logger.warn((err as Error).message);
        } else {
          const pause = backoff(outage);
          this.logger.warn(`Workflow ${workflowId} paused (connection lost, ${outage} time(s)), replaying in ${pause} ms: ${(err as Error).message}`);
          await delay(pause, this.stopSignal);
        }
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
      const current = await this.deps.listing.get(workflowId);
      // Finished or cancelled meanwhile (e.g. a cancel we could not hear): that state wins.
      if (current && isTerminal(current.status)) return { finished: current };
      if (!current || current.runEpoch !== run.epoch || current.executorId !== this.settings.executorId) {
        throw new DbosRunSuperseded(workflowId);
      }
      const steps = await this.deps.checkpoints.loadAll(workflowId);
      return {
        state: {
          ...run,
          nextStepId: 0,
          recorded: new Map(steps.map((s) => [s.stepId, s])),
          confirmedGeneration: this.deps.gate.generation,
          interrupted: false,
          deferred: undefined,
          replay: undefined,
        },
      };
    } catch (err) {
      if (err instanceof DbosDatabaseUnavailableError && this.isAccepting) return undefined;
      throw err;
    }
  }

  private async runOnce(registration: WorkflowRegistration, store: BodyStore, args: unknown[]): Promise<unknown> {
    let result: unknown;
    let failure: { error: unknown } | undefined;
    try {
      result = await workflowContextStorage.run(store, () => registration.method.apply(registration.instance, args));
    } catch (error) {
      failure = { error };
    }
    const instead = this.notAnOutcome(store.run, failure);
    if (instead !== undefined) {
      await this.steps.settleDeferred(store.run);
      throw instead;
    }
    if (failure) return this.finish(store.run, 'ERROR', null, serializeError(failure.error), failure.error);
    let output: string;
    try {
      output = serializeWithin(result, `the result of workflow ${registration.name}`, this.settings.maxPayloadBytes);
    } catch (err) {
      return this.finish(store.run, 'ERROR', null, serializeError(err), err);
    }
    return this.finish(store.run, 'SUCCESS', output, null, result);
  }

  /** What the run throws instead of recording how its body ended (`failure`: it threw); undefined to record it. */
  private notAnOutcome(run: ExecutionState, failure: { error: unknown } | undefined): unknown {
    if (failure) {
      if (isTransient(failure.error)) return failure.error;
      // Cancelled (or timed out): the status row already says so; recording an error here could
      // overwrite a resume that reopened the workflow meanwhile.
      if (run.abort.signal.aborted) return run.abort.signal.reason;
      // Shutdown began: what failed may be a client closing under the app; the next start finishes it.
      if (!this.isAccepting) return new DbosShutdownInterrupt(run.workflowId);
    }
    // Another run's value sits where a held-back checkpoint was to go; the body caught that: replay.
    if (run.replay) return run.replay;
    // The body caught an interruption (a shutdown, a lost outage) and returned anyway: its result
    // is not the workflow's; the next start replays it properly.
    if (!failure && run.interrupted && !this.isAccepting) return new DbosShutdownInterrupt(run.workflowId);
    return undefined;
  }

  /**
   * Records the outcome, fenced by the run's epoch. If the row had already left PENDING
   * (cancelled, finished elsewhere) that state wins; if another run owns it now, this one stops.
   */
  private async finish(run: ExecutionState, status: 'SUCCESS' | 'ERROR', output: string | null, error: string | null, value: unknown): Promise<unknown> {
    const { workflowId } = run;
    // The last step's checkpoint, when the body returned right after it, goes with the outcome.
    const lastCheckpoint = this.steps.takeDeferred(run);
    let result: CompleteResult;
    this.deps.runs.setFinishing(workflowId, true);
    try {
      if (!lastCheckpoint) await this.steps.flushDeferred(run);
      result = await this.deps.lifecycle.complete({ workflowId, status, output, error, epoch: run.epoch, lastCheckpoint });
    } catch (err) {
      this.deps.runs.setFinishing(workflowId, false); // the run goes on (a replay) or ends without this outcome
      throw err;
    }
    if (result === 'completed') {
      if (status === 'ERROR') {
        this.logger.warn(`Workflow ${workflowId} (${run.workflowName}) ended in ERROR: ${describeWithCauses(value)}`);
        const error = value instanceof Error ? value : new Error(String(value));
        this.deps.events.emit({ type: 'failed', workflowId, workflowName: run.workflowName, status: 'ERROR', error });
        throw value;
      }
      this.deps.events.emit({ type: 'finished', workflowId, workflowName: run.workflowName, status: 'SUCCESS', output: value });
      return value;
    }
    if (result === 'checkpoint-not-recorded' && lastCheckpoint) {
      const why = await this.deps.checkpoints.notRecorded(workflowId, lastCheckpoint.stepId, run.epoch);
      // Its position holds another run's row: the outcome may come from another value; replay.
      if ('existing' in why) throw this.steps.notRecordedError(run, lastCheckpoint, why) ?? new CheckpointTakenError(workflowId, lastCheckpoint.stepId);
    }
    const row = await this.deps.listing.get(workflowId);
    if (row && isTerminal(row.status)) return outcomeOf(row);
    throw new DbosRunSuperseded(workflowId);
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
    const reasonFor = (id: string) => (id === workflowId ? error : new DbosTimeoutError(id, `its parent ${workflowId} timed out.`));
    const cancelled = await this.deps.runs.whileCancelling([workflowId], async () => {
      const rows = await this.deps.admin.cancelTree(workflowId, serializeError(error));
      for (const { workflowId: id } of rows) this.deps.runs.abort(id, reasonFor(id));
      return rows;
    });
    for (const { workflowId: id, workflowName } of cancelled) {
      const reason = reasonFor(id);
      this.deps.events.emit({
        type: 'cancelled',
        workflowId: id,
        workflowName,
        status: 'CANCELLED',
        error: reason,
        cancelSource: 'here',
        ...(id !== workflowId ? { cancelledWith: workflowId } : {}),
      });
    }
    logCancels(this.logger, cancelled, `timed out at its deadline ${new Date(deadline).toISOString()} and was cancelled`);
  }

  /** Stop taking work; wait (bounded) for running workflows to reach a step boundary. */
  async shutdown(): Promise<void> {
    this.deps.runs.stopTakingWork();
    if (await this.deps.runs.drain(this.settings.shutdownTimeoutMs)) return;
    this.logger.warn(
      `${this.deps.runs.size} workflow(s) still running after ${this.settings.shutdownTimeoutMs} ms; they resume from their last checkpoint after a restart.`,
    );
  }
}
