import { Logger } from '@nestjs/common';
import type { Sql } from '../system-database/sql';
import { workflowContextStorage } from '../context/workflow-context.storage';
import type { StepRegistration } from '../discovery/workflow.registry';
import { DbosError } from '../errors/dbos.error';
import { observeStepAttempt } from '../observability/step-attempt';
import { inStepSpan } from '../observability/tracing';
import { serializeError } from '../serialization/value.codec';
import type { CheckpointRepository, NotRecorded, RecordCheckpointResult } from '../system-database/checkpoint.repository';
import { asUnavailable, isConnectionError } from '../system-database/connection-errors.util';
import type { OperationOutputRow } from '../system-database/system.rows';
import type { SystemDatabase } from '../system-database/system.database';
import type { StepAttemptsRepository } from '../system-database/step-attempts.repository';
import { serializeWithin } from '../workflow/workflow.limits';
import { checkpointRow, replayCheckpoint, type CheckpointPosition } from './checkpoint.rows';
import { isTransient } from './interruption.util';
import type { LeaseGate } from './lease.gate';
import { withRetries } from './retry.util';
import { stepTimedOut, withinDeadline } from './attempt.deadline';
import { DbosRunSuperseded } from './run-superseded.error';
import { currentRun, type WorkflowRun } from './workflow.run';
import { workflowLabel } from '../observability/log-label';

/** Postgres errors after which a system-database operation is simply tried again. */
const RETRYABLE_SYSTEM_ERRORS = new Set(['40001', '40P01', '23505']);

export interface StepRunnerDependencies {
  checkpoints: CheckpointRepository;
  system: SystemDatabase;
  limits: { maxPayloadBytes: number };
  /** Says when the run may start a new step. */
  gate: LeaseGate;
  /** Where the failed attempts of retried steps go (the dashboard's timeline). */
  attempts: StepAttemptsRepository;
}

export interface OperationOptions<T> {
  /** The child workflow the operation's value names (a child start). */
  childWorkflowIdOf?: (value: T) => string;
  /** Hold the checkpoint back (see WorkflowRun.holdBack) instead of writing it before returning. */
  holdBack?: boolean;
  /** `fn` makes the spans of its attempts itself (a step); otherwise it runs in one span `step <name>`. */
  ownSpans?: boolean;
}

/**
 * Checkpointing of operations by call order: runs an operation once and records its outcome;
 * on replay returns the recorded outcome without running it. Used by steps, transactions (see
 * TransactionRunner) and every checkpointed DbosContext call.
 */
export class StepRunner {
  private readonly logger = new Logger(StepRunner.name);

  constructor(private readonly deps: StepRunnerDependencies) {}

  /** Before a new step: the previous step's checkpoint written, not interrupted, and still the owner of the workflow. */
  async mayStart(run: WorkflowRun): Promise<void> {
    await run.flushHeldBack();
    try {
      run.throwIfStopped();
      await this.deps.gate.confirmOwnership(run);
    } catch (err) {
      throw run.interrupt(err);
    }
  }

  /** What a checkpoint write found: recorded, another run's row (adopted), or fenced (this run stops). */
  settle<T>(run: WorkflowRun, row: OperationOutputRow, result: RecordCheckpointResult, value: () => T): T {
    return result.recorded ? value() : this.adoptOrStop<T>(run, row.stepId, row.stepName, result);
  }

  /** Not written: adopt the row another run wrote at this position, or stop (fenced off). */
  adoptOrStop<T>(run: WorkflowRun, stepId: number, name: string, result: NotRecorded): T {
    if ('fenced' in result) throw run.interrupt(new DbosRunSuperseded(run.workflowId));
    return replayCheckpoint<T>(run.workflowId, stepId, name, result.existing);
  }

  /** Not written because the position is taken (by another run) or fenced: reads which, and adopts or stops. */
  async adoptTaken<T>(run: WorkflowRun, stepId: number, name: string): Promise<T> {
    return this.adoptOrStop<T>(run, stepId, name, await this.deps.checkpoints.notRecorded(run.workflowId, stepId, run.epoch));
  }

  /** Writes an operation's checkpoint and settles the operation on what the write found. */
  async record<T>(run: WorkflowRun, row: OperationOutputRow, value: () => T): Promise<T> {
    return this.settle(run, row, await this.deps.checkpoints.record(row, run.epoch), value);
  }

  /** Runs `fn` as the next operation of the running workflow `run`, checkpointed. */
  async runOperation<T>(run: WorkflowRun, name: string, fn: (stepId: number) => Promise<T>, options: OperationOptions<T> = {}): Promise<T> {
    const { stepId, recorded } = run.nextPosition(name);
    if (recorded) return replayCheckpoint<T>(run.workflowId, stepId, name, recorded);
    await this.mayStart(run);
    const at = { workflowId: run.workflowId, stepId, stepName: name, startedAt: Date.now() };
    let value: T | undefined;
    let thrown: unknown;
    let output: string | null = null;
    let error: string | null = null;
    try {
      value = await (options.ownSpans ? fn(stepId) : inStepSpan({ workflowId: run.workflowId, stepId, stepName: name, attempt: 1 }, () => fn(stepId)));
      output = serializeWithin(value, `the output of step ${name}`, this.deps.limits.maxPayloadBytes);
    } catch (err) {
      const instead = run.notAnOutcome(err);
      if (instead !== undefined) throw instead;
      thrown = err;
      error = serializeError(err);
    }
    const row = checkpointRow(at, {
      output,
      error,
      childWorkflowId: error === null && options.childWorkflowIdOf ? options.childWorkflowIdOf(value as T) : null,
    });
    const outcome = () => {
      if (error !== null) throw thrown;
      return value as T;
    };
    // One checkpoint is held back at a time; a step finishing beside it (Promise.all) writes its own now.
    if (options.holdBack && !run.isHoldingBack) {
      run.holdBack(row);
      return outcome();
    }
    let result: RecordCheckpointResult;
    try {
      result = await this.deps.checkpoints.record(row, run.epoch);
    } catch (err) {
      throw isTransient(err) ? run.interrupt(err) : err;
    }
    return this.settle(run, row, result, outcome);
  }

  /**
   * A @Step: checkpointed inside a workflow body; a plain call elsewhere. Each attempt runs under
   * its own deadline (`timeoutMs`); only what `withRetries` finally returns or throws is recorded,
   * so an abandoned attempt's late result never is.
   */
  runStep(registration: StepRegistration, instance: object, args: unknown[]): Promise<unknown> {
    const run = currentRun();
    if (!run) return registration.method.apply(instance, args);
    const { name, options } = registration;
    return this.runOperation(
      run,
      name,
      (stepId) =>
        withRetries(
          () => workflowLabel(run.workflowId, { stepId, stepName: name }),
          options.retries,
          this.logger,
          (attempt) =>
            observeStepAttempt({ workflowId: run.workflowId, stepId, stepName: name, attempt }, () =>
              withinDeadline(
                options.timeoutMs,
                run.abortSignal,
                () => stepTimedOut(run.workflowId, stepId, name, attempt, options.timeoutMs!),
                async (abortSignal) =>
                  workflowContextStorage.run({ run, stepName: name, stepId, abortSignal }, () => registration.method.apply(instance, args)),
              ),
            ),
          () => run.signal,
          (attempt, err, startedAt) => this.recordFailedAttempt(run, { stepId, stepName: name }, attempt, err, startedAt),
        ),
      { holdBack: true, ownSpans: true },
    );
  }

  /** Keeps what a failed attempt of a retried step met, for the timeline; an interruption (an outage, a newer run) is not an attempt's outcome. */
  private async recordFailedAttempt(
    run: WorkflowRun,
    step: { stepId: number; stepName: string },
    attempt: number,
    err: unknown,
    startedAt: number,
  ): Promise<void> {
    if (isTransient(err)) return;
    const failed = { workflowId: run.workflowId, stepId: step.stepId, attempt, startedAt, endedAt: Date.now(), error: serializeError(err) };
    await this.deps.attempts.record(failed).catch((writeErr: unknown) => {
      this.logger.warn(`${workflowLabel(run.workflowId, step)}: could not keep the outcome of attempt ${attempt}: ${(writeErr as Error).message}`);
    });
  }

  /**
   * An operation whose writes go in its checkpoint's statement (`effects`: CTEs over the written
   * checkpoint, see CheckpointRepository.recordWithEffects), so they happen exactly once, in one
   * round trip. Its outcome is `undefined`.
   */
  /** 'written' when this call's statement wrote it; 'replayed' when it was recorded before (a replay, or another run took the position). */
  async runSystemStatement(run: WorkflowRun, name: string, effects: () => Promise<{ effects: string; values: unknown[] }>): Promise<'written' | 'replayed'> {
    const { stepId, recorded } = run.nextPosition(name);
    if (recorded) {
      replayCheckpoint<void>(run.workflowId, stepId, name, recorded);
      return 'replayed';
    }
    return inStepSpan({ workflowId: run.workflowId, stepId, stepName: name, attempt: 1 }, async () => {
      for (;;) {
        await this.mayStart(run);
        const at = { workflowId: run.workflowId, stepId, stepName: name, startedAt: Date.now() };
        const row = checkpointRow(at, { output: serializeWithin(undefined, `the output of ${name}`, this.deps.limits.maxPayloadBytes) });
        let written: boolean;
        try {
          const statement = await effects();
          written = await this.deps.checkpoints.recordWithEffects(row, run.epoch, statement.effects, statement.values);
        } catch (err) {
          if (RETRYABLE_SYSTEM_ERRORS.has((err as { code?: string }).code ?? '')) continue;
          if (!(err instanceof DbosError) || isTransient(err)) throw run.interrupt(asUnavailable(err, this.deps.system.target));
          // A refusal by the operation itself is its recorded outcome, as in a system transaction.
          return this.record(run, checkpointRow(at, { error: serializeError(err) }), () => {
            throw err;
          });
        }
        if (!written) return this.adoptTaken<void>(run, stepId, name).then(() => 'replayed' as const);
        return 'written';
      }
    });
  }

  /**
   * An operation that takes something and records it in one statement (`take`: recv's message),
   * waiting while there is nothing to take: `whenNothing` waits for it and returns undefined, or
   * returns the outcome to record instead (recv's timeout).
   */
  async runTake<T>(
    run: WorkflowRun,
    name: string,
    take: (at: CheckpointPosition) => Promise<{ value: T } | 'nothing' | 'not-recorded'>,
    whenNothing: () => Promise<{ value: T } | undefined>,
  ): Promise<T> {
    const { stepId, recorded } = run.nextPosition(name);
    if (recorded) return replayCheckpoint<T>(run.workflowId, stepId, name, recorded);
    return inStepSpan({ workflowId: run.workflowId, stepId, stepName: name, attempt: 1 }, async () => {
      for (;;) {
        await this.mayStart(run);
        const at = { workflowId: run.workflowId, stepId, stepName: name, startedAt: Date.now() };
        let taken: { value: T } | 'nothing' | 'not-recorded';
        try {
          taken = await take(at);
        } catch (err) {
          if (RETRYABLE_SYSTEM_ERRORS.has((err as { code?: string }).code ?? '')) continue;
          throw run.interrupt(asUnavailable(err, this.deps.system.target));
        }
        if (taken === 'not-recorded') return this.adoptTaken<T>(run, stepId, name);
        if (taken !== 'nothing') return taken.value;
        const instead = await whenNothing().catch((err: unknown) => Promise.reject(run.interrupt(err)));
        if (instead) {
          const row = checkpointRow(at, { output: serializeWithin(instead.value, `the output of ${name}`, this.deps.limits.maxPayloadBytes) });
          return this.record(run, row, () => instead.value);
        }
      }
    });
  }

  /**
   * Runs `work` and inserts its checkpoint in one system-database transaction, so what it writes
   * (a consumed message, a sent message, an event) happens exactly once. `work` returning
   * undefined means "nothing to record yet" (e.g. no message): the transaction rolls back.
   */
  async runSystemTransaction<T>(
    run: WorkflowRun,
    name: string,
    work: (tx: Sql, stepId: number) => Promise<{ value: T } | undefined>,
    attempt?: (stepId: number) => Promise<boolean>,
  ): Promise<T> {
    const { stepId, recorded } = run.nextPosition(name);
    if (recorded) return replayCheckpoint<T>(run.workflowId, stepId, name, recorded);
    return inStepSpan({ workflowId: run.workflowId, stepId, stepName: name, attempt: 1 }, () => this.systemTransactionAt(run, name, stepId, work, attempt));
  }

  private async systemTransactionAt<T>(
    run: WorkflowRun,
    name: string,
    stepId: number,
    work: (tx: Sql, stepId: number) => Promise<{ value: T } | undefined>,
    attempt?: (stepId: number) => Promise<boolean>,
  ): Promise<T> {
    for (;;) {
      await this.mayStart(run);
      if (attempt && !(await attempt(stepId).catch((err: unknown) => Promise.reject(run.interrupt(err))))) continue;
      const at = { workflowId: run.workflowId, stepId, stepName: name, startedAt: Date.now() };
      const client = await this.deps.system.connect();
      let outcome: { value: T } | 'nothing' | 'taken';
      try {
        await client.query('BEGIN');
        const tx = this.deps.system.on(client);
        const done = await work(tx, stepId);
        if (!done) {
          outcome = 'nothing';
        } else {
          const row = checkpointRow(at, { output: serializeWithin(done.value, `the output of ${name}`, this.deps.limits.maxPayloadBytes) });
          outcome = (await this.deps.checkpoints.recordWith(tx, row, run.epoch)) ? done : 'taken';
        }
        await client.query(outcome === 'nothing' || outcome === 'taken' ? 'ROLLBACK' : 'COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release(isConnectionError(err));
        // A clash with a concurrent writer (stream offset, serialization): simply try again.
        if (RETRYABLE_SYSTEM_ERRORS.has((err as { code?: string }).code ?? '')) continue;
        if (!(err instanceof DbosError) || isTransient(err)) throw run.interrupt(asUnavailable(err, this.deps.system.target));
        // A refusal by the operation itself (e.g. an unknown destination) is its recorded outcome.
        return this.record(run, checkpointRow(at, { error: serializeError(err) }), () => {
          throw err;
        });
      }
      client.release();
      // The position is taken by another run (adopt its row), or the fence refused this run.
      if (outcome === 'taken') return this.adoptTaken<T>(run, stepId, name);
      if (outcome !== 'nothing') return outcome.value;
      if (!attempt) throw new Error(`${name} had nothing to record and no way to wait`);
    }
  }
}
