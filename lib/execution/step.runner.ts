import type { Logger } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { currentWorkflowContext, workflowContextStorage, type WorkflowContextStore } from '../context/workflow-context.storage';
import type { StepRegistration } from '../discovery/workflow.registry';
import { DbosError } from '../errors/dbos.error';
import { serializeError } from '../serialization/value.codec';
import type { CheckpointRepository } from '../system-database/checkpoint.repository';
import { asUnavailable, isConnectionError } from '../system-database/connection-errors';
import type { OperationOutputRow } from '../system-database/entities/operation-output.entity';
import { describeTarget, type SystemDatabase } from '../system-database/system-database';
import { replayCheckpoint, workflowBodyStore, type ExecutionState } from './execution-state';
import { serializeWithin } from './limits';
import { withRetries } from './retry';
import { DbosShutdownInterrupt } from './shutdown-interrupt';

/** Postgres errors after which a transaction is simply tried again. */
const RETRYABLE_TRANSACTION_ERRORS = new Set(['40001', '40P01']);
const RETRYABLE_SYSTEM_ERRORS = new Set(['40001', '40P01', '23505']);

class AlreadyRecorded extends Error {}

/** Errors that say nothing about the operation itself, so they are never recorded as its outcome. */
export function isTransient(err: unknown): boolean {
  return err instanceof DbosShutdownInterrupt || isConnectionError(err);
}

/**
 * Checkpointing of operations by call order: runs an operation once and records its outcome;
 * on replay returns the recorded outcome without running it. Used by steps, transactions and
 * every checkpointed DbosContext call.
 */
export class StepRunner {
  constructor(
    private readonly checkpoints: CheckpointRepository,
    private readonly system: SystemDatabase,
    private readonly transactionDataSource: DataSource,
    private readonly logger: Logger,
    private readonly stopSignal: AbortSignal,
    private readonly limits: { maxPayloadBytes: number },
  ) {}

  /** Takes the next position; returns the recorded checkpoint there, if any. */
  private next(state: ExecutionState): { stepId: number; recorded?: OperationOutputRow } {
    const stepId = state.nextStepId++;
    return { stepId, recorded: state.recorded?.get(stepId) };
  }

  /** Stop before starting anything new when the workflow was cancelled or the process stops. */
  checkInterrupt(state: ExecutionState): void {
    if (state.abort.signal.aborted) throw state.abort.signal.reason;
    if (this.stopSignal.aborted) throw new DbosShutdownInterrupt(state.workflowId);
  }

  /** Runs `fn` as the next operation of the workflow whose body is running, checkpointed. */
  async runOperation<T>(
    store: WorkflowContextStore & { run: ExecutionState },
    name: string,
    fn: (stepId: number) => Promise<T>,
    childWorkflowIdOf?: (value: T) => string,
  ): Promise<T> {
    const state = store.run;
    const { stepId, recorded } = this.next(state);
    if (recorded) return replayCheckpoint<T>(state, stepId, name, recorded);
    this.checkInterrupt(state);
    const startedAt = Date.now();
    let value: T | undefined;
    let thrown: unknown;
    let output: string | null = null;
    let error: string | null = null;
    try {
      value = await fn(stepId);
      output = serializeWithin(value, `the output of step ${name}`, this.limits.maxPayloadBytes);
    } catch (err) {
      // A failure caused by cancellation is not the step's outcome: a resume runs it again.
      if (state.abort.signal.aborted) throw state.abort.signal.reason;
      // Nor is an outage or a shutdown: the workflow is replayed once the database is back.
      if (isTransient(err)) throw err;
      thrown = err;
      error = serializeError(err);
    }
    const result = await this.checkpoints.record({
      workflowId: state.workflowId, stepId, stepName: name, output, error, startedAt, completedAt: Date.now(),
      childWorkflowId: error === null && childWorkflowIdOf ? childWorkflowIdOf(value as T) : null,
    });
    if (!result.recorded) return replayCheckpoint<T>(state, stepId, name, result.existing);
    if (error !== null) throw thrown;
    return value as T;
  }

  /** A @Step: checkpointed inside a workflow body; a plain call elsewhere. */
  runStep(registration: StepRegistration, instance: object, args: unknown[]): Promise<unknown> {
    const store = workflowBodyStore();
    if (!store) return registration.method.apply(instance, args);
    return this.runOperation(store, registration.name, (stepId) =>
      withRetries(
        `Step ${registration.name} of workflow ${store.run.workflowId}`,
        registration.options.retries,
        this.logger,
        () => workflowContextStorage.run({ ...store, stepName: registration.name, stepId }, () => registration.method.apply(instance, args)),
        AbortSignal.any([store.run.abort.signal, this.stopSignal]),
      ),
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
    const { stepId, recorded } = this.next(state);
    if (recorded) return replayCheckpoint<T>(state, stepId, name, recorded);
    for (;;) {
      this.checkInterrupt(state);
      if (attempt && !(await attempt(stepId))) continue;
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
            workflowId: state.workflowId, stepId, stepName: name, output: serializeWithin(done.value, `the output of ${name}`, this.limits.maxPayloadBytes),
            error: null, childWorkflowId: null, startedAt, completedAt: Date.now(),
          };
          outcome = (await this.checkpoints.recordWith(client, row)) ? done : 'taken';
        }
        await client.query(outcome === 'nothing' || outcome === 'taken' ? 'ROLLBACK' : 'COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release(isConnectionError(err));
        // A clash with a concurrent writer (stream offset, serialization): simply try again.
        if (RETRYABLE_SYSTEM_ERRORS.has((err as { code?: string }).code ?? '')) continue;
        if (!(err instanceof DbosError) || isTransient(err)) throw asUnavailable(err, this.system.target);
        // A refusal by the operation itself (e.g. an unknown destination) is its recorded outcome.
        const row: OperationOutputRow = {
          workflowId: state.workflowId, stepId, stepName: name, output: null, error: serializeError(err),
          childWorkflowId: null, startedAt, completedAt: Date.now(),
        };
        const result = await this.checkpoints.record(row);
        if (!result.recorded) return replayCheckpoint<T>(state, stepId, name, result.existing);
        throw err;
      }
      client.release();
      if (outcome === 'taken') {
        return replayCheckpoint<T>(state, stepId, name, (await this.checkpoints.get(state.workflowId, stepId))!);
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
    const stepId = state.nextStepId++;
    const recorded = state.recorded?.get(stepId);
    if (recorded) return replayCheckpoint(state, stepId, registration.name, recorded);
    this.checkInterrupt(state);
    const startedAt = Date.now();
    const checkpoint = (output: string | null, error: string | null): OperationOutputRow => ({
      workflowId: state.workflowId, stepId, stepName: registration.name, output, error, childWorkflowId: null, startedAt, completedAt: Date.now(),
    });
    const { isolationLevel, readOnly } = registration.options;
    for (let attempt = 1; ; attempt++) {
      try {
        const run = async (manager: EntityManager) => {
          if (readOnly) await manager.query('SET TRANSACTION READ ONLY');
          const value = await workflowContextStorage.run({ ...store, stepName: registration.name, stepId, entityManager: manager }, () =>
            registration.method.apply(instance, args),
          );
          const output = serializeWithin(value, `the output of transaction ${registration.name}`, this.limits.maxPayloadBytes);
          // A read-only transaction cannot write its checkpoint; it has no effects to guard either.
          if (!readOnly && !(await this.checkpoints.recordInTransaction(manager, checkpoint(output, null)))) {
            throw new AlreadyRecorded();
          }
          return { value, output };
        };
        const { value, output } = isolationLevel
          ? await this.transactionDataSource.transaction(isolationLevel, run)
          : await this.transactionDataSource.transaction(run);
        if (readOnly) {
          const result = await this.checkpoints.record(checkpoint(output, null));
          if (!result.recorded) return replayCheckpoint(state, stepId, registration.name, result.existing);
        }
        return value;
      } catch (err) {
        if (err instanceof AlreadyRecorded) {
          const existing = await this.checkpoints.get(state.workflowId, stepId);
          return replayCheckpoint(state, stepId, registration.name, existing!);
        }
        if (state.abort.signal.aborted) throw state.abort.signal.reason;
        // An outage: rolled back, or committed with its checkpoint; the replay after it tells which.
        if (isConnectionError(err)) throw asUnavailable(err, describeTarget({ dataSource: this.transactionDataSource }));
        const code = (err as { code?: string }).code;
        if (code && RETRYABLE_TRANSACTION_ERRORS.has(code) && attempt < 10) {
          this.logger.warn(`Transaction ${registration.name} of workflow ${state.workflowId} hit ${code} (attempt ${attempt}), retrying`);
          await new Promise((resolve) => setTimeout(resolve, Math.min(5 * 2 ** attempt, 500) * Math.random()));
          continue;
        }
        // The transaction rolled back; its failure is recorded so a replay throws the same error.
        const result = await this.checkpoints.record(checkpoint(null, serializeError(err)));
        if (!result.recorded) return replayCheckpoint(state, stepId, registration.name, result.existing);
        throw err;
      }
    }
  }

  /** Outside a workflow (or nested in a step) a @Transaction is still a transaction, just not checkpointed. */
  private runOutsideWorkflow(registration: StepRegistration, instance: object, args: unknown[]): Promise<unknown> {
    const store = currentWorkflowContext();
    if (store?.entityManager) return registration.method.apply(instance, args);
    return this.transactionDataSource.transaction((manager) =>
      workflowContextStorage.run(
        { ...(store ?? { run: { workflowId: '', workflowName: '', nextStepId: 0, abort: new AbortController() } }), entityManager: manager, stepName: registration.name },
        () => registration.method.apply(instance, args),
      ),
    );
  }
}
