import { LazyLinkedSignal } from '../common/linked-signal.util';
import { currentWorkflowContext, type WorkflowRunView } from '../context/workflow-context.storage';
import { DbosError } from '../errors/dbos.error';
import type { RecordCheckpointResult } from '../system-database/checkpoint.repository';
import type { OperationOutputRow } from '../system-database/system.rows';
import { CheckpointTakenError } from './checkpoint-taken.error';
import { sameOutcome } from './checkpoint.rows';
import { isTransient } from './interruption.util';
import { DbosRunSuperseded } from './run-superseded.error';
import type { ReplayOnlyMode } from './replay-only.mode';
import { DbosShutdownInterrupt } from './shutdown-interrupt.error';

/** Writes one checkpoint, fenced by an epoch (the checkpoint repository). */
export interface CheckpointWriter {
  record(row: OperationOutputRow, epoch: number): Promise<RecordCheckpointResult>;
}

export interface WorkflowRunOptions {
  workflowId: string;
  workflowName: string;
  /** The run's epoch: its checkpoints and outcome are written only while the workflow's row still has it. */
  epoch: number;
  /** Epoch ms after which the workflow is cancelled with DbosTimeoutError. */
  deadline: number | null;
  queueName: string | null;
  /** Checkpoints of an earlier run, by position; null for a fresh workflow (nothing to read). */
  recorded: Map<number, OperationOutputRow> | null;
  /** The lease gate's generation now: the run owns its workflow as of it. */
  generation: number;
  /** Aborted when the process stops taking work. */
  stopSignal: AbortSignal;
  checkpoints: CheckpointWriter;
  /** Set on a replay check: nothing runs, nothing is written (see ReplayOnlyMode). */
  replayOnly?: ReplayOnlyMode;
}

/** What one run keeps across its replays: the attempts after an outage share it. */
interface RunLifetime {
  readonly abort: AbortController;
  /** `abort` or the process's stop signal, made on first use. */
  readonly linked: LazyLinkedSignal;
  /** While the run writes its outcome: a status change heard then is its own, or its finish reads the row. */
  finishing: boolean;
  result?: Promise<unknown>;
  /** Cancels the deadline timer. */
  disarm?: () => void;
  /** When the run began here (performance.now()): its duration, for the metrics. */
  readonly launchedAt: number;
}

/** A step's checkpoint held back for one turn of the event loop; `writing` once its own write started. */
interface HeldCheckpoint {
  readonly row: OperationOutputRow;
  writing?: Promise<RecordCheckpointResult | { failed: unknown }>;
}

/**
 * One run of one workflow in this process, at one epoch: its positions, its held-back
 * checkpoint, whether it was interrupted, whether it must replay, whether it is finishing. Only
 * its methods change it. A replay after an outage is a new attempt (`replay()`): a new
 * WorkflowRun sharing the run's lifetime (abort, signal, finish, result), so operations the old
 * attempt left running cannot take positions of the new one.
 */
export class WorkflowRun implements WorkflowRunView {
  readonly workflowId: string;
  readonly workflowName: string;
  readonly epoch: number;
  readonly deadline: number | null;
  readonly queueName: string | null;
  readonly replayOnly?: ReplayOnlyMode;
  private readonly recorded: Map<number, OperationOutputRow> | null;
  private readonly stopSignal: AbortSignal;
  private readonly checkpoints: CheckpointWriter;
  private readonly lifetime: RunLifetime;
  private position = 0;
  /** The heartbeat generation at which this run last knew it owned the workflow (see LeaseGate). */
  private confirmedGeneration: number;
  /** An interruption (shutdown, outage, lost ownership) was thrown into the body: a result it returns anyway is not recorded. */
  private interrupted = false;
  /** Ended as by a crash of the process (the test kit): nothing more of it is written. */
  private crashed = false;
  /**
   * The last step's checkpoint, not written yet: it is written before the run's next operation
   * starts, or with the outcome when the body returns first, or alone on the next turn of the
   * event loop, whichever comes first.
   */
  private held?: HeldCheckpoint;
  /**
   * Set when a held-back checkpoint was found written by another run with another value:
   * whatever the body does after (even catching the error) is not recorded; the run replays.
   */
  private replayCause?: Error;

  constructor(options: WorkflowRunOptions, lifetime?: RunLifetime) {
    this.workflowId = options.workflowId;
    this.workflowName = options.workflowName;
    this.epoch = options.epoch;
    this.deadline = options.deadline;
    this.queueName = options.queueName;
    this.replayOnly = options.replayOnly;
    this.recorded = options.recorded;
    this.stopSignal = options.stopSignal;
    this.checkpoints = options.checkpoints;
    this.confirmedGeneration = options.generation;
    const abort = new AbortController();
    this.lifetime = lifetime ?? { abort, linked: new LazyLinkedSignal([abort.signal, options.stopSignal]), finishing: false, launchedAt: performance.now() };
  }

  /** Runs `execute` as this run; `disarm` cancels its deadline timer when it ends. */
  begin(execute: (run: WorkflowRun) => Promise<unknown>, disarm?: () => void): void {
    this.lifetime.result = execute(this);
    this.lifetime.disarm = disarm;
  }

  /** Milliseconds since the run began here (its replays after an outage included). */
  get elapsedMs(): number {
    return performance.now() - this.lifetime.launchedAt;
  }

  /** Settles with the run: its result, its error, or DbosRunSuperseded when another run took it over. */
  get result(): Promise<unknown> {
    return this.lifetime.result!;
  }

  /** The run ended: its signal stops following the process's, its deadline timer goes. */
  release(): void {
    this.lifetime.linked.dispose();
    this.lifetime.disarm?.();
  }

  /** The next attempt, after an outage or a taken checkpoint: positions from 0 over `recorded`. */
  replay(recorded: Map<number, OperationOutputRow>, generation: number): WorkflowRun {
    const { workflowId, workflowName, epoch, deadline, queueName, stopSignal, checkpoints } = this;
    return new WorkflowRun(
      { workflowId, workflowName, epoch, deadline, queueName, stopSignal, checkpoints, recorded, generation, replayOnly: this.replayOnly },
      this.lifetime,
    );
  }

  /** Aborted when the workflow is cancelled, times out or is superseded. */
  get abortSignal(): AbortSignal {
    return this.lifetime.abort.signal;
  }

  /** `abortSignal` or the process stopping, with that one's reason: what the steps and waits of this run listen to. */
  get signal(): AbortSignal {
    return this.lifetime.linked.signal;
  }

  /** Stops the run (a cancel, a timeout, a newer run): its next step, wait or retry throws `reason`. */
  stop(reason: Error): void {
    this.lifetime.abort.abort(reason);
  }

  get isStopped(): boolean {
    return this.lifetime.abort.signal.aborted;
  }

  /** Takes the next position for operation `name`; returns the recorded checkpoint there, if any. */
  nextPosition(name: string): { stepId: number; recorded?: OperationOutputRow } {
    const stepId = this.position++;
    const recorded = this.recorded?.get(stepId);
    this.replayOnly?.take(stepId, name, recorded);
    return { stepId, recorded };
  }

  /** The checkpoint recorded at the next position, without taking it (patches look before they take). */
  recordedAtNext(): OperationOutputRow | undefined {
    return this.recorded?.get(this.position);
  }

  /** Positions taken so far. */
  get positionsTaken(): number {
    return this.position;
  }

  /** Before anything new: throws when the workflow was cancelled or the process stops. */
  throwIfStopped(): void {
    if (this.lifetime.abort.signal.aborted) throw this.lifetime.abort.signal.reason;
    if (this.stopSignal.aborted) throw new DbosShutdownInterrupt(this.workflowId);
  }

  /** Marks the run as interrupted (see `interrupted`) and returns `err`, to throw into the body. */
  interrupt(err: unknown): unknown {
    this.interrupted = true;
    return err;
  }

  /**
   * A failure that is not the outcome of an operation: cancellation (a resume runs it again), a
   * shutdown that began meanwhile (a deploy; the clients the step uses may be closing, so its
   * error says nothing), an outage, a superseded run. Returns what to throw instead of recording.
   */
  notAnOutcome(err: unknown): unknown {
    if (this.lifetime.abort.signal.aborted) return this.interrupt(this.lifetime.abort.signal.reason);
    if (this.stopSignal.aborted) return this.interrupt(new DbosShutdownInterrupt(this.workflowId));
    if (isTransient(err)) return this.interrupt(err);
    return undefined;
  }

  /** What the run throws instead of recording how its body ended (`failure`: it threw); undefined to record it. */
  bodyEndNotAnOutcome(failure: { error: unknown } | undefined): unknown {
    // A crashed process writes nothing more, whatever the body did after the crash.
    if (this.crashed) return new DbosRunSuperseded(this.workflowId);
    if (failure) {
      // Thrown as it is: the run replays after an outage or a taken checkpoint (see WorkflowExecutor).
      if (isTransient(failure.error)) return failure.error;
      // Cancelled (or timed out): the status row already says so; recording an error here could
      // overwrite a resume that reopened the workflow meanwhile. Shutdown: what failed may be a
      // client closing under the app; the next start finishes it.
      const instead = this.notAnOutcome(failure.error);
      if (instead !== undefined) return instead;
    }
    // Another run's value sits where a held-back checkpoint was to go; the body caught that: replay.
    if (this.replayCause) return this.replayCause;
    // The body caught an interruption (a shutdown, a lost outage) and returned anyway: its result
    // is not the workflow's; the next start replays it properly.
    if (!failure && this.interrupted && this.stopSignal.aborted) return new DbosShutdownInterrupt(this.workflowId);
    return undefined;
  }

  /** The checkpoint at `stepId` holds another run's value: what the body did since is not recorded; the run replays. */
  enterReplay(step: { stepId: number; stepName: string }): Error {
    this.replayCause = new CheckpointTakenError(this.workflowId, step.stepId, step.stepName);
    return this.replayCause;
  }

  /** True when the run confirmed its ownership at this heartbeat generation. */
  isConfirmedAt(generation: number): boolean {
    return this.confirmedGeneration === generation;
  }

  confirmOwnedAt(generation: number): void {
    this.confirmedGeneration = generation;
  }

  get isHoldingBack(): boolean {
    return this.held !== undefined;
  }

  /**
   * Holds a step's checkpoint back instead of writing it before returning: when the body's next
   * move is to return, the checkpoint is written with the outcome in one statement (one commit
   * fewer per workflow). It is written before the run's next operation starts, or alone on the
   * next turn of the event loop when the body does anything else first (awaits I/O, a timer), so a
   * completed step is never left unrecorded while the body goes on beyond synchronous code.
   */
  holdBack(row: OperationOutputRow): void {
    if (this.crashed) return; // lost, as a crash loses it
    const held: HeldCheckpoint = { row };
    this.held = held;
    setImmediate(() => {
      if (this.held === held) this.startWrite(held);
    });
  }

  private startWrite(held: HeldCheckpoint): NonNullable<HeldCheckpoint['writing']> {
    held.writing ??= this.checkpoints.record(held.row, this.epoch).catch((err: unknown) => ({ failed: err }));
    return held.writing;
  }

  /** The held-back checkpoint for the outcome's statement to write, when its own write has not started. */
  private takeHeldBack(): OperationOutputRow | undefined {
    const held = this.held;
    if (!held || held.writing) return undefined;
    this.held = undefined;
    return held.row;
  }

  /** Writes the held-back checkpoint (or waits for its write): what the run does next depends on it. */
  async flushHeldBack(): Promise<void> {
    const held = this.held;
    if (!held) return;
    const result = await this.startWrite(held);
    if (this.held === held) this.held = undefined;
    if ('failed' in result) throw isTransient(result.failed) ? this.interrupt(result.failed) : result.failed;
    if (result.recorded) return;
    // Fenced: this run stops. Another outcome there: the run replays. The same outcome (a write
    // that committed but whose reply was lost): nothing to do.
    if ('fenced' in result) throw this.interrupt(new DbosRunSuperseded(this.workflowId));
    if (!sameOutcome(result.existing, held.row)) throw this.interrupt(this.enterReplay(held.row));
  }

  /**
   * Ends the run as a crash of the process would (the test kit's crash()): a held-back checkpoint
   * whose write has not started is lost, nothing the body does from now on is recorded, and its
   * waits end.
   */
  crash(): void {
    if (this.held && !this.held.writing) this.held = undefined;
    this.crashed = true;
    this.interrupted = true;
    this.stop(new DbosRunSuperseded(this.workflowId));
  }

  /** Ended by crash(): a transaction still open rolls back, as the crash of its process would. */
  get hasCrashed(): boolean {
    return this.crashed;
  }

  /** When the run ends without an outcome (interrupted): the held-back checkpoint is still written if it can be. */
  async settleHeldBack(): Promise<void> {
    if (this.crashed) return;
    await this.flushHeldBack().catch(() => undefined);
  }

  /**
   * Writes the outcome through `write`, with the held-back checkpoint when its own write has not
   * started (else after that write). While it runs the run is finishing (see `isFinishing`); a
   * failed write ends that (the run goes on, a replay, or ends without this outcome).
   */
  async finish<T>(write: (lastCheckpoint: OperationOutputRow | undefined) => Promise<T>): Promise<{ result: T; lastCheckpoint?: OperationOutputRow }> {
    const lastCheckpoint = this.takeHeldBack();
    this.lifetime.finishing = true;
    try {
      if (!lastCheckpoint) await this.flushHeldBack();
      return { result: await write(lastCheckpoint), lastCheckpoint };
    } catch (err) {
      this.lifetime.finishing = false;
      throw err;
    }
  }

  /** While the run writes its outcome, and after: a status change heard then is its own. */
  get isFinishing(): boolean {
    return this.lifetime.finishing;
  }
}

/** The running workflow when we are in its body (not inside a step); else undefined. */
export function currentRun(): WorkflowRun | undefined {
  const store = currentWorkflowContext();
  return store && store.stepName === undefined ? (store.run as WorkflowRun) : undefined;
}

export function requireCurrentRun(operation: string): WorkflowRun {
  const run = currentRun();
  if (!run) {
    throw new DbosError(`${operation} can only be called from a @Workflow method (not from a step, a transaction or outside a workflow).`);
  }
  return run;
}
