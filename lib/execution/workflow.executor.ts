import { Logger } from '@nestjs/common';
import { backoff } from '../common/backoff.util';
import { delay } from '../common/delay.util';
import { workflowContextStorage } from '../context/workflow-context.storage';
import type { WorkflowRegistration } from '../discovery/workflow.registry';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import { DbosSerializationError } from '../errors/serialization.error';
import type { WorkflowEventsBus } from '../events/workflow-events.bus';
import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import type { QueueRegistry } from '../queues/queue.registry';
import { deserialize, serializeError } from '../serialization/value.codec';
import type { CheckpointRepository } from '../system-database/checkpoint.repository';
import type { OperationOutputRow, WorkflowStatusRow } from '../system-database/system.rows';
import type { QueueRepository } from '../system-database/queue.repository';
import type { ListingRepository } from '../system-database/listing.repository';
import type { NewWorkflowRow, RunLifecycleRepository } from '../system-database/run-lifecycle.repository';
import { describeWithCauses } from '../serialization/error-cause';
import { resolveExisting } from '../workflow/enqueue.checks';
import { serializeWithin } from '../workflow/workflow.limits';
import { isTerminal, outcomeOf } from '../workflow/workflow.outcome';
import type { WorkflowClock } from '../common/clock';
import { countFinished, countStarted } from '../observability/metrics';
import { inWorkflowSpan, type RunEnd } from '../observability/tracing';
import type { ExecutorSettings } from './executor.settings';
import { untilAvailable } from './until-available.util';
import type { LeaseGate } from './lease.gate';
import { CheckpointTakenError } from './checkpoint-taken.error';
import { isTransient } from './interruption.util';
import { DbosRunSuperseded } from './run-superseded.error';
import type { RunningWorkflows } from './running-workflows.table';
import type { WorkflowCanceller } from './workflow.canceller';
import { WorkflowRun } from './workflow.run';
import { storedWorkflowLabel, workflowLabel } from '../observability/log-label';
import { checkQueuedStart, startRow } from './start-row';

export interface ExecutorDependencies {
  lifecycle: RunLifecycleRepository;
  listing: ListingRepository;
  checkpoints: CheckpointRepository;
  queues: QueueRepository;
  queueRegistry: QueueRegistry;
  runs: RunningWorkflows;
  gate: LeaseGate;
  events: WorkflowEventsBus;
  /** Arms the deadline of each run. */
  canceller: WorkflowCanceller;
  /** Workflow time: deadlines and queue delays. */
  clock: WorkflowClock;
}

import type { StartContext } from './start-row';

/** What a run is launched with. */
interface Launch {
  workflowId: string;
  args: unknown[];
  /** Its checkpoints by position; null for a fresh workflow. */
  recorded: Map<number, OperationOutputRow> | null;
  deadline: number | null;
  queueName: string | null;
  epoch: number;
  /** Its row's trace context (the parent of the run's span), and whether it was recovered. */
  trace: { context: string | null; recovered: boolean };
}

/**
 * Runs workflows durably: records the start, launches the run, replays recorded steps after a
 * restart or an outage, enforces deadlines, records the outcome. Which workflows run here, and
 * since when, is the RunningWorkflows table's business; steps are the StepRunner's.
 */
export class WorkflowExecutor {
  private readonly logger = new Logger(WorkflowExecutor.name);

  constructor(
    private readonly deps: ExecutorDependencies,
    readonly settings: ExecutorSettings,
  ) {}

  /** The module's workflow time (a testing module moves it). */
  get clock(): WorkflowClock {
    return this.deps.clock;
  }

  /** Aborted when the process stops taking work: long waits end with DbosShutdownInterrupt. */
  get stopSignal(): AbortSignal {
    return this.deps.runs.stopSignal;
  }

  get isAccepting(): boolean {
    return this.deps.runs.isAccepting;
  }

  /**
   * Records the workflow and starts it in the background. An id that exists is never run again:
   * its id is returned (or DbosConflictError when it belongs to another workflow).
   */
  async startWorkflow(registration: WorkflowRegistration, args: unknown[], options: StartWorkflowOptions, context: StartContext = {}): Promise<string> {
    this.deps.runs.assertAccepting();
    const row = this.newRow(registration, args, options, context);
    return this.deps.runs.whileStarting(row.workflowId, () => this.insertAndLaunch(registration, args, row, options));
  }

  /**
   * The row of a start that the caller writes (in the app's own transaction): ENQUEUED on
   * `options.queue`, so no process runs it before it commits; a dispatcher claims it then.
   */
  queuedRow(registration: WorkflowRegistration, args: unknown[], options: StartWorkflowOptions & { queue: string }): NewWorkflowRow {
    return this.newRow(registration, args, options, {});
  }

  /** A queued start's queue is declared here and its options fit it (DbosQueueNotDeclaredError, DbosConfigurationError). */
  checkQueued(options: StartWorkflowOptions): void {
    checkQueuedStart(this.deps.queueRegistry, options);
  }

  private newRow(registration: WorkflowRegistration, args: unknown[], options: StartWorkflowOptions, context: StartContext): NewWorkflowRow {
    return startRow({ settings: this.settings, queueRegistry: this.deps.queueRegistry, now: this.deps.clock.now() }, registration, args, options, context);
  }

  private async insertAndLaunch(registration: WorkflowRegistration, args: unknown[], row: NewWorkflowRow, options: StartWorkflowOptions): Promise<string> {
    const { workflowId } = row;
    const queued = options.queue !== undefined;
    const result = await this.deps.lifecycle.insert(row);
    if (!result.inserted) {
      const id = await resolveExisting(this.deps.queues, result.existing, registration.name, workflowId, options);
      if (id === workflowId && result.existing && this.isOrphanedHere(result.existing)) this.deps.runs.reportOrphanedStart(result.existing, registration);
      return id;
    }
    const trace = { context: row.traceContext, recovered: false };
    if (!queued) this.launch(registration, { workflowId, args, recorded: null, deadline: row.deadline, queueName: null, epoch: 0, trace });
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
    if ((this.deps.runs.get(workflowId)?.epoch ?? -1) >= row.runEpoch || this.deps.runs.isLaunching(workflowId)) return;
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
        this.logger.error(`${storedWorkflowLabel(row)} (${registration.name}) ended in ERROR: ${describeWithCauses(error)}`);
        this.deps.events.emit({ type: 'failed', workflowId, workflowName: registration.name, status: 'ERROR', error });
      }
      return;
    }
    // This row is PENDING here now: it must start, so a blip while reading its checkpoints is waited out.
    const steps =
      preloaded ??
      (hasSteps ? await untilAvailable(`the checkpoints of ${workflowId}`, this.stopSignal, this.logger, () => this.deps.checkpoints.loadAll(workflowId)) : []);
    const recorded = hasSteps ? new Map(steps.map((s) => [s.stepId, s])) : null;
    const trace = { context: row.traceContext, recovered: row.recoveryAttempts > 0 };
    this.launch(registration, { workflowId, args, recorded, deadline: row.deadline, queueName: row.queueName, epoch: row.runEpoch, trace });
  }

  private launch(registration: WorkflowRegistration, launch: Launch): void {
    const { workflowId, epoch, deadline } = launch;
    // One run per workflow per process. A run of an older epoch (it lost the workflow, e.g. to a
    // remote cancel and resume that sent it back through its queue) stops first; a second launch
    // of the same epoch is a no-op.
    const previous = this.deps.runs.get(workflowId);
    if (previous) {
      if (previous.epoch >= epoch) return;
      previous.stop(new DbosRunSuperseded(workflowId));
      void previous.result.catch(() => undefined).then(() => this.launch(registration, launch));
      return;
    }
    const run = new WorkflowRun({
      workflowId,
      workflowName: registration.name,
      epoch,
      deadline,
      queueName: launch.queueName,
      recorded: launch.recorded,
      generation: this.deps.gate.generation,
      stopSignal: this.stopSignal,
      checkpoints: this.deps.checkpoints,
    });
    const { trace, queueName } = launch;
    if (!trace.recovered) countStarted(registration.name, queueName);
    const span = { workflowId, workflowName: registration.name, queueName, recovered: trace.recovered, traceContext: trace.context };
    // A run whose abort signal fired (a cancel, its deadline) ended CANCELLED, whatever its body threw then.
    const endOf = (err: unknown): RunEnd => (isTransient(err) ? 'interrupted' : run.abortSignal.aborted ? 'cancelled' : 'failed');
    run.begin(
      (first) =>
        inWorkflowSpan(
          span,
          () =>
            this.runToCompletion(registration, first, launch.args).catch((err: unknown) => {
              if (endOf(err) === 'cancelled') countFinished(registration.name, 'CANCELLED', first.elapsedMs);
              throw err;
            }),
          endOf,
        ),
      deadline === null ? undefined : this.deps.canceller.armDeadline(workflowId, deadline),
    );
    this.deps.runs.add(run);
  }

  /**
   * Runs the workflow to its recorded outcome. When the database goes away midway, the run stops
   * where it is (nothing transient is recorded), waits for the database, and replays from the
   * checkpoints: workflows pause during an outage and continue after it.
   */
  private async runToCompletion(registration: WorkflowRegistration, run: WorkflowRun, args: unknown[]): Promise<unknown> {
    for (let outage = 1; ; outage++) {
      try {
        return await this.runOnce(registration, run, args);
      } catch (err) {
        const taken = err instanceof CheckpointTakenError;
        if (!(taken || err instanceof DbosDatabaseUnavailableError) || !this.isAccepting) throw err;
        const { workflowId } = run;
        if (taken) {
          const { stepId, stepName } = err;
          this.logger.warn(`${workflowLabel(workflowId, { stepId, stepName })} was recorded by another run; this run replays from its checkpoints`);
        } else {
          const pause = backoff(outage);
          this.logger.warn(`${workflowLabel(workflowId)} paused (connection lost, ${outage} time(s)), replaying in ${pause} ms: ${(err as Error).message}`);
          await delay(pause, this.stopSignal);
        }
        // Lost again while re-reading: back to waiting (never a rerun from a stale position).
        const replay = await untilAvailable(`the state of workflow ${workflowId}`, this.stopSignal, this.logger, () => this.replayState(run));
        if ('finished' in replay) return outcomeOf(replay.finished);
        run = run.replay(replay.recorded, this.deps.gate.generation);
        this.logger.log(`${workflowLabel(workflowId)} continues from its checkpoints`);
      }
    }
  }

  /**
   * After an outage: what the run needs to replay. A workflow that finished or was cancelled
   * meanwhile gives its outcome; one that another run took over (adopted, resumed) stops here.
   */
  private async replayState(run: WorkflowRun): Promise<{ recorded: Map<number, OperationOutputRow> } | { finished: WorkflowStatusRow }> {
    const { workflowId } = run;
    const current = await this.deps.listing.get(workflowId);
    // Finished or cancelled meanwhile (e.g. a cancel we could not hear): that state wins.
    if (current && isTerminal(current.status)) return { finished: current };
    if (!current || current.runEpoch !== run.epoch || current.executorId !== this.settings.executorId) {
      throw new DbosRunSuperseded(workflowId);
    }
    const steps = await this.deps.checkpoints.loadAll(workflowId);
    return { recorded: new Map(steps.map((s) => [s.stepId, s])) };
  }

  private async runOnce(registration: WorkflowRegistration, run: WorkflowRun, args: unknown[]): Promise<unknown> {
    let result: unknown;
    let failure: { error: unknown } | undefined;
    try {
      result = await workflowContextStorage.run({ run }, () => registration.method.apply(registration.instance, args));
    } catch (error) {
      failure = { error };
    }
    const instead = run.bodyEndNotAnOutcome(failure);
    if (instead !== undefined) {
      await run.settleHeldBack();
      throw instead;
    }
    if (failure) return this.finish(run, 'ERROR', null, serializeError(failure.error), failure.error);
    let output: string;
    try {
      output = serializeWithin(result, `the result of workflow ${registration.name}`, this.settings.maxPayloadBytes);
    } catch (err) {
      return this.finish(run, 'ERROR', null, serializeError(err), err);
    }
    return this.finish(run, 'SUCCESS', output, null, result);
  }

  /**
   * Records the outcome, fenced by the run's epoch; the last step's checkpoint, when the body
   * returned right after it, goes with it. If the row had already left PENDING (cancelled,
   * finished elsewhere) that state wins; if another run owns it now, this one stops.
   */
  private async finish(run: WorkflowRun, status: 'SUCCESS' | 'ERROR', output: string | null, error: string | null, value: unknown): Promise<unknown> {
    const { workflowId, epoch } = run;
    const { result, lastCheckpoint } = await run.finish((lastCheckpoint) =>
      this.deps.lifecycle.complete({ workflowId, status, output, error, epoch, lastCheckpoint }),
    );
    if (result === 'completed') {
      countFinished(run.workflowName, status, run.elapsedMs);
      if (status === 'ERROR') {
        this.logger.warn(`${workflowLabel(workflowId)} (${run.workflowName}) ended in ERROR: ${describeWithCauses(value)}`);
        const error = value instanceof Error ? value : new Error(String(value));
        this.deps.events.emit({ type: 'failed', workflowId, workflowName: run.workflowName, status: 'ERROR', error });
        throw value;
      }
      this.deps.events.emit({ type: 'finished', workflowId, workflowName: run.workflowName, status: 'SUCCESS', output: value });
      return value;
    }
    if (result === 'checkpoint-not-recorded' && lastCheckpoint) {
      const why = await this.deps.checkpoints.notRecorded(workflowId, lastCheckpoint.stepId, epoch);
      // Its position holds another run's row: the outcome may come from another value; replay.
      if ('existing' in why) throw run.enterReplay(lastCheckpoint);
    }
    const row = await this.deps.listing.get(workflowId);
    if (row && isTerminal(row.status)) return outcomeOf(row);
    throw new DbosRunSuperseded(workflowId);
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
