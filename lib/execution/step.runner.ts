import { Logger } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { currentWorkflowContext, workflowContextStorage, type WorkflowContextStore } from '../context/workflow-context.storage';
import type { StepRegistration } from '../discovery/workflow.registry';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import { DbosError } from '../errors/dbos.error';
import { serializeError } from '../serialization/value.codec';
import type { CheckpointRepository, NotRecorded, RecordCheckpointResult } from '../system-database/checkpoint.repository';
import { asUnavailable, isConnectionError } from '../system-database/connection-errors.util';
import type { OperationOutputRow } from '../system-database/system.rows';
import { describeTarget } from '../common/database-target.util';
import type { SystemDatabase } from '../system-database/system.database';
import { replayCheckpoint, workflowBodyStore, type DeferredCheckpoint, type ExecutionState } from './execution.state';
import { CheckpointTakenError } from './checkpoint-taken.error';
import { serializeWithin } from '../workflow/workflow.limits';
import { interruption, isTransient } from './interruption.util';
import type { LeaseGate } from './lease.gate';
import { withRetries } from './retry.util';
import { DbosRunSuperseded } from './run-superseded.error';
import { DbosShutdownInterrupt } from './shutdown-interrupt.error';

/** Postgres errors after which a transaction is simply tried again. */
const RETRYABLE_TRANSACTION_ERRORS = new Set(['40001', '40P01']);
const RETRYABLE_SYSTEM_ERRORS = new Set(['40001', '40P01', '23505']);

class AlreadyRecorded extends Error {}

/** A @Transaction body's own failure (its connection is fine): recorded like any step error. */
class BodyFailure extends Error {
  constructor(readonly failure: unknown) {
    super('transaction body failed');
  }
}

/**
 * Checkpointing of operations by call order: runs an operation once and records its outcome;
 * on replay returns the recorded outcome without running it. Used by steps, transactions and
 * every checkpointed DbosContext call.
 */
export class StepRunner {
  private readonly logger = new Logger(StepRunner.name);

  constructor(
    private readonly checkpoints: CheckpointRepository,
    private readonly system: SystemDatabase,
    private readonly transactionDataSource: DataSource,
    private readonly stopSignal: AbortSignal,
    private readonly limits: { maxPayloadBytes: number },
    /** Says when the run may start a new step. */
    private readonly gate: LeaseGate,
    /** True when @Transaction runs on a pool the module opened (its entities are `database.entities`), not on the app's DataSource. */
    private readonly transactionsOnOwnPool = false,
  ) {}

  /** Takes the next position; returns the recorded checkpoint there, if any. */
  private next(state: ExecutionState, name: string): { stepId: number; recorded?: OperationOutputRow } {
    const stepId = state.nextStepId++;
    const recorded = state.recorded?.get(stepId);
    state.replayOnly?.take(stepId, name, recorded);
    return { stepId, recorded };
  }

  /** Stop before starting anything new when the workflow was cancelled or the process stops. */
  checkInterrupt(state: ExecutionState): void {
    if (state.abort.signal.aborted) throw state.abort.signal.reason;
    if (this.stopSignal.aborted) throw new DbosShutdownInterrupt(state.workflowId);
  }

  /** Before a new step: the previous step's checkpoint written, not interrupted, and still the owner of the workflow. */
  private async mayStart(state: ExecutionState): Promise<void> {
    await this.flushDeferred(state);
    try {
      this.checkInterrupt(state);
      await this.gate.confirmOwnership(state);
    } catch (err) {
      throw interruption(state, err);
    }
  }

  /**
   * A failure that is not the operation's outcome: cancellation (a resume runs it again), a
   * shutdown that began meanwhile (a deploy; the clients the step uses may be closing, so its
   * error says nothing), an outage, a superseded run. Returns what to throw instead of recording.
   */
  private notAnOutcome(state: ExecutionState, err: unknown): unknown {
    if (state.abort.signal.aborted) return interruption(state, state.abort.signal.reason);
    if (this.stopSignal.aborted) return interruption(state, new DbosShutdownInterrupt(state.workflowId));
    if (isTransient(err)) return interruption(state, err);
    return undefined;
  }

  /** What a checkpoint write found: recorded, another run's row (adopted), or fenced (this run stops). */
  private settle<T>(state: ExecutionState, stepId: number, name: string, result: RecordCheckpointResult, value: () => T): T {
    return result.recorded ? value() : this.adoptOrStop<T>(state, stepId, name, result);
  }

  /** Not written: adopt the row another run wrote at this position, or stop (fenced off). */
  private adoptOrStop<T>(state: ExecutionState, stepId: number, name: string, result: NotRecorded): T {
    if ('fenced' in result) throw interruption(state, new DbosRunSuperseded(state.workflowId));
    return replayCheckpoint<T>(state, stepId, name, result.existing);
  }

  /** Runs `fn` as the next operation of the workflow whose body is running, checkpointed. */
  async runOperation<T>(
    store: WorkflowContextStore & { run: ExecutionState },
    name: string,
    fn: (stepId: number) => Promise<T>,
    childWorkflowIdOf?: (value: T) => string,
    defer = false,
  ): Promise<T> {
    const state = store.run;
    const { stepId, recorded } = this.next(state, name);
    if (recorded) return replayCheckpoint<T>(state, stepId, name, recorded);
    await this.mayStart(state);
    const startedAt = Date.now();
    let value: T | undefined;
    let thrown: unknown;
    let output: string | null = null;
    let error: string | null = null;
    try {
      value = await fn(stepId);
      output = serializeWithin(value, `the output of step ${name}`, this.limits.maxPayloadBytes);
    } catch (err) {
      const instead = this.notAnOutcome(state, err);
      if (instead !== undefined) throw instead;
      thrown = err;
      error = serializeError(err);
    }
    const row: OperationOutputRow = {
      workflowId: state.workflowId,
      stepId,
      stepName: name,
      output,
      error,
      startedAt,
      completedAt: Date.now(),
      childWorkflowId: error === null && childWorkflowIdOf ? childWorkflowIdOf(value as T) : null,
    };
    // One checkpoint is held back at a time; a step finishing beside it (Promise.all) writes its own now.
    if (defer && !state.deferred) {
      this.deferCheckpoint(state, row);
      if (error !== null) throw thrown;
      return value as T;
    }
    const result = await this.recordOrMark(state, row, state.epoch);
    return this.settle(state, stepId, name, result, () => {
      if (error !== null) throw thrown;
      return value as T;
    });
  }

  /**
   * Holds a step's checkpoint back instead of writing it before returning: when the body's next
   * move is to return, the checkpoint is written with the outcome in one statement (one commit
   * fewer per workflow). It is written before the run's next operation starts, or alone on the
   * next turn of the event loop when the body does anything else first (awaits I/O, a timer), so a
   * completed step is never left unrecorded while the body goes on beyond synchronous code.
   */
  private deferCheckpoint(state: ExecutionState, row: OperationOutputRow): void {
    const deferred: DeferredCheckpoint = { row, epoch: state.epoch };
    state.deferred = deferred;
    setImmediate(() => {
      if (state.deferred === deferred) this.startFlush(deferred);
    });
  }

  private startFlush(deferred: DeferredCheckpoint): NonNullable<DeferredCheckpoint['flushing']> {
    deferred.flushing ??= this.checkpoints.record(deferred.row, deferred.epoch).catch((err: unknown) => ({ failed: err }));
    return deferred.flushing;
  }

  /**
   * The deferred checkpoint for the outcome's statement to write, when its own write has not
   * started (else undefined: flushDeferred waits for that write).
   */
  takeDeferred(state: ExecutionState): OperationOutputRow | undefined {
    const deferred = state.deferred;
    if (!deferred || deferred.flushing) return undefined;
    state.deferred = undefined;
    return deferred.row;
  }

  /** Writes the deferred checkpoint (or waits for its write): what the run does next depends on it. */
  async flushDeferred(state: ExecutionState): Promise<void> {
    const deferred = state.deferred;
    if (!deferred) return;
    const result = await this.startFlush(deferred);
    if (state.deferred === deferred) state.deferred = undefined;
    if ('failed' in result) throw isTransient(result.failed) ? interruption(state, result.failed) : result.failed;
    if (!result.recorded) {
      const error = this.notRecordedError(state, deferred.row, result);
      if (error) throw interruption(state, error);
    }
  }

  /**
   * Why a checkpoint whose value the body already used was not written: this run stops (fenced) or
   * replays (another run wrote another outcome there). Undefined when the row there is this very
   * outcome (a write that committed but whose reply was lost): nothing to do.
   */
  notRecordedError(state: ExecutionState, row: OperationOutputRow, result: NotRecorded): Error | undefined {
    if ('fenced' in result) return new DbosRunSuperseded(state.workflowId);
    const { existing } = result;
    if (existing.stepName === row.stepName && existing.output === row.output && existing.error === row.error) return undefined;
    state.replay = new CheckpointTakenError(state.workflowId, row.stepId);
    return state.replay;
  }

  /** When the run ends without an outcome (interrupted): the deferred checkpoint is still written if it can be. */
  async settleDeferred(state: ExecutionState): Promise<void> {
    await this.flushDeferred(state).catch(() => undefined);
  }

  private async recordOrMark(state: ExecutionState, row: OperationOutputRow, epoch: number): Promise<RecordCheckpointResult> {
    try {
      return await this.checkpoints.record(row, epoch);
    } catch (err) {
      throw isTransient(err) ? interruption(state, err) : err;
    }
  }

  /** A @Step: checkpointed inside a workflow body; a plain call elsewhere. */
  runStep(registration: StepRegistration, instance: object, args: unknown[]): Promise<unknown> {
    const store = workflowBodyStore();
    if (!store) return registration.method.apply(instance, args);
    return this.runOperation(
      store,
      registration.name,
      (stepId) =>
        withRetries(
          `Step ${registration.name} of workflow ${store.run.workflowId}`,
          registration.options.retries,
          this.logger,
          () => workflowContextStorage.run({ ...store, stepName: registration.name, stepId }, () => registration.method.apply(instance, args)),
          () => store.run.signal,
        ),
      undefined,
      true,
    );
  }

  /**
   * Runs `work` and inserts its checkpoint in one system-database transaction, so what it writes
   * (a consumed message, a sent message, an event) happens exactly once. `work` returning
   * undefined means "nothing to record yet" (e.g. no message): the transaction rolls back.
   */
  async runSystemTransaction<T>(
    store: WorkflowContextStore & { run: ExecutionState },
    name: string,
    work: (client: PoolClient, stepId: number) => Promise<{ value: T } | undefined>,
    attempt?: (stepId: number) => Promise<boolean>,
  ): Promise<T> {
    const state = store.run;
    const { stepId, recorded } = this.next(state, name);
    if (recorded) return replayCheckpoint<T>(state, stepId, name, recorded);
    for (;;) {
      await this.mayStart(state);
      if (attempt && !(await attempt(stepId).catch((err: unknown) => Promise.reject(interruption(state, err))))) continue;
      const startedAt = Date.now();
      const client = await this.system.connect();
      let outcome: { value: T } | 'nothing' | 'taken';
      try {
        await client.query('BEGIN');
        const done = await work(client, stepId);
        if (!done) {
          outcome = 'nothing';
        } else {
          const row: OperationOutputRow = {
            workflowId: state.workflowId,
            stepId,
            stepName: name,
            output: serializeWithin(done.value, `the output of ${name}`, this.limits.maxPayloadBytes),
            error: null,
            childWorkflowId: null,
            startedAt,
            completedAt: Date.now(),
          };
          outcome = (await this.checkpoints.recordWith(client, row, state.epoch)) ? done : 'taken';
        }
        await client.query(outcome === 'nothing' || outcome === 'taken' ? 'ROLLBACK' : 'COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release(isConnectionError(err));
        // A clash with a concurrent writer (stream offset, serialization): simply try again.
        if (RETRYABLE_SYSTEM_ERRORS.has((err as { code?: string }).code ?? '')) continue;
        if (!(err instanceof DbosError) || isTransient(err)) throw interruption(state, asUnavailable(err, this.system.target));
        // A refusal by the operation itself (e.g. an unknown destination) is its recorded outcome.
        const row: OperationOutputRow = {
          workflowId: state.workflowId,
          stepId,
          stepName: name,
          output: null,
          error: serializeError(err),
          childWorkflowId: null,
          startedAt,
          completedAt: Date.now(),
        };
        const result = await this.checkpoints.record(row, state.epoch);
        return this.settle(state, stepId, name, result, () => {
          throw err;
        });
      }
      client.release();
      if (outcome === 'taken') {
        // The position is taken by another run (adopt its row), or the fence refused this run.
        return this.adoptOrStop<T>(state, stepId, name, await this.checkpoints.notRecorded(state.workflowId, stepId, state.epoch));
      }
      if (outcome !== 'nothing') return outcome.value;
      if (!attempt) throw new Error(`${name} had nothing to record and no way to wait`);
    }
  }

  /**
   * A @Transaction: the method and its checkpoint commit in one transaction of the app database,
   * so its effects happen exactly once. Serialization failures and deadlocks are retried.
   */
  async runTransaction(registration: StepRegistration, instance: object, args: unknown[]): Promise<unknown> {
    const store = workflowBodyStore();
    if (!store) return this.runOutsideWorkflow(registration, instance, args);
    const state = store.run;
    const { stepId, recorded } = this.next(state, registration.name);
    if (recorded) return replayCheckpoint(state, stepId, registration.name, recorded);
    await this.mayStart(state);
    const startedAt = Date.now();
    const checkpoint = (output: string | null, error: string | null): OperationOutputRow => ({
      workflowId: state.workflowId,
      stepId,
      stepName: registration.name,
      output,
      error,
      childWorkflowId: null,
      startedAt,
      completedAt: Date.now(),
    });
    const { isolationLevel, readOnly } = registration.options;
    for (let attempt = 1; ; attempt++) {
      try {
        const run = async (manager: EntityManager) => {
          if (readOnly) await manager.query('SET TRANSACTION READ ONLY');
          let value: unknown;
          try {
            value = await workflowContextStorage.run({ ...store, stepName: registration.name, stepId, entityManager: manager }, () =>
              registration.method.apply(instance, args),
            );
          } catch (err) {
            throw await this.classifyBodyFailure(manager, err);
          }
          const output = serializeWithin(value, `the output of transaction ${registration.name}`, this.limits.maxPayloadBytes);
          // A read-only transaction cannot write its checkpoint; it has no effects to guard either.
          if (!readOnly && !(await this.checkpoints.recordInTransaction(manager, checkpoint(output, null), state.epoch))) {
            throw new AlreadyRecorded();
          }
          return { value, output };
        };
        const { value, output } = isolationLevel
          ? await this.transactionDataSource.transaction(isolationLevel, run)
          : await this.transactionDataSource.transaction(run);
        if (readOnly) return this.settle(state, stepId, registration.name, await this.checkpoints.record(checkpoint(output, null), state.epoch), () => value);
        return value;
      } catch (caught) {
        if (caught instanceof AlreadyRecorded) {
          // Taken by another run (adopt its row), or the fence refused this run (its writes rolled back).
          return this.adoptOrStop(state, stepId, registration.name, await this.checkpoints.notRecorded(state.workflowId, stepId, state.epoch));
        }
        // Outside the body (connect, BEGIN, the checkpoint, COMMIT) a lost connection is the
        // module's own: rolled back, or committed with its checkpoint; the replay after it tells which.
        const err = caught instanceof BodyFailure ? caught.failure : isConnectionError(caught) ? asUnavailable(caught, this.transactionTarget()) : caught;
        const instead = this.notAnOutcome(state, err);
        if (instead !== undefined) throw instead;
        const code = (err as { code?: string }).code;
        if (code && RETRYABLE_TRANSACTION_ERRORS.has(code) && attempt < 10) {
          this.logger.warn(`Transaction ${registration.name} of workflow ${state.workflowId} hit ${code} (attempt ${attempt}), retrying`);
          await new Promise((resolve) => setTimeout(resolve, Math.min(5 * 2 ** attempt, 500) * Math.random()));
          continue;
        }
        // The transaction rolled back; its failure is recorded so a replay throws the same error.
        const result = await this.checkpoints.record(checkpoint(null, serializeError(err)), state.epoch);
        return this.settle(state, stepId, registration.name, result, () => {
          throw err;
        });
      }
    }
  }

  private transactionTarget(): string {
    return describeTarget({ dataSource: this.transactionDataSource });
  }

  /**
   * Whose failure a @Transaction body's error is. One that looks like a lost connection is the
   * module's (an outage, never recorded) only if the transaction's own connection is in fact
   * gone: a probe on it tells. Otherwise (an HTTP API the body called is down, a constraint
   * violated) it is the body's own, recorded like any step error.
   */
  private async classifyBodyFailure(manager: EntityManager, err: unknown): Promise<unknown> {
    if (err instanceof DbosDatabaseUnavailableError) return err; // raised by the module's own connection (a send inside the body)
    if ((err as Error)?.name === 'EntityMetadataNotFoundError' && this.transactionsOnOwnPool) {
      (err as Error).message +=
        '. @Transaction methods run on the pool the module opened from database.url, which knows only the entities in ' +
        'DbosModule.forRoot({ database: { entities } }): add this entity there, or pass your TypeORM DataSource as database.dataSource.';
    }
    if (!isConnectionError(err)) return new BodyFailure(err);
    const probe = await manager.query('SELECT 1').then(
      () => undefined,
      (probeErr: unknown) => probeErr,
    );
    return probe !== undefined && isConnectionError(probe) ? asUnavailable(err, this.transactionTarget()) : new BodyFailure(err);
  }

  /** Outside a workflow (or nested in a step) a @Transaction is still a transaction, just not checkpointed. */
  private runOutsideWorkflow(registration: StepRegistration, instance: object, args: unknown[]): Promise<unknown> {
    const store = currentWorkflowContext();
    if (store?.entityManager) return registration.method.apply(instance, args);
    return this.transactionDataSource.transaction((manager) =>
      workflowContextStorage.run(
        {
          ...(store ?? { run: { workflowId: '', workflowName: '', nextStepId: 0, abort: new AbortController() } }),
          entityManager: manager,
          stepName: registration.name,
        },
        () => registration.method.apply(instance, args),
      ),
    );
  }
}
