import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { backoff } from '../common/backoff.util';
import { describeTarget } from '../common/database-target.util';
import { delay } from '../common/delay.util';
import { currentWorkflowContext, workflowContextStorage } from '../context/workflow-context.storage';
import type { StepRegistration } from '../discovery/workflow.registry';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import { observeStepAttempt } from '../observability/step-attempt';
import { serializeError } from '../serialization/value.codec';
import type { CheckpointRepository } from '../system-database/checkpoint.repository';
import { asUnavailable, isConnectionError } from '../system-database/connection-errors.util';
import { serializeWithin } from '../workflow/workflow.limits';
import { checkpointRow, replayCheckpoint } from './checkpoint.rows';
import type { StepRunner } from './step.runner';
import { currentRun } from './workflow.run';
import { workflowLabel } from '../observability/log-label';

/** Postgres errors after which a transaction is simply tried again. */
const RETRYABLE_TRANSACTION_ERRORS = new Set(['40001', '40P01']);
/** The wait before retrying a transaction that hit one: up to 10 ms doubling to 500 ms, any fraction of it. */
const TRANSACTION_RETRY = { firstMs: 10, maxMs: 500, fullJitter: true };

class AlreadyRecorded extends Error {}

/** A @Transaction body's own failure (its connection is fine): recorded like any step error. */
class BodyFailure extends Error {
  constructor(readonly failure: unknown) {
    super('transaction body failed');
  }
}

export interface TransactionRunnerDependencies {
  steps: StepRunner;
  checkpoints: CheckpointRepository;
  /** Where @Transaction runs: the app's DataSource, or a pool the module opened. */
  dataSource: DataSource;
  /** True when that is a pool the module opened (its entities are `database.entities`), not the app's DataSource. */
  onOwnPool: boolean;
  limits: { maxPayloadBytes: number };
}

/**
 * A @Transaction: the method and its checkpoint commit in one transaction of the app database,
 * so its effects happen exactly once. Serialization failures and deadlocks are retried.
 */
export class TransactionRunner {
  private readonly logger = new Logger(TransactionRunner.name);

  constructor(private readonly deps: TransactionRunnerDependencies) {}

  async runTransaction(registration: StepRegistration, instance: object, args: unknown[]): Promise<unknown> {
    const run = currentRun();
    if (!run) return this.runOutsideWorkflow(registration, instance, args);
    const { steps, checkpoints } = this.deps;
    const { stepId, recorded } = run.nextPosition(registration.name);
    if (recorded) return replayCheckpoint(run.workflowId, stepId, registration.name, recorded);
    await steps.mayStart(run);
    const at = { workflowId: run.workflowId, stepId, stepName: registration.name, startedAt: Date.now() };
    const { isolationLevel, readOnly } = registration.options;
    for (let attempt = 1; ; attempt++) {
      try {
        const body = async (manager: EntityManager) => {
          if (readOnly) await manager.query('SET TRANSACTION READ ONLY');
          let value: unknown;
          try {
            value = await workflowContextStorage.run({ run, stepName: registration.name, stepId, entityManager: manager }, () =>
              registration.method.apply(instance, args),
            );
          } catch (err) {
            throw await this.classifyBodyFailure(manager, err);
          }
          const output = serializeWithin(value, `the output of transaction ${registration.name}`, this.deps.limits.maxPayloadBytes);
          // A read-only transaction cannot write its checkpoint; it has no effects to guard either.
          if (!readOnly && !(await checkpoints.recordInTransaction(manager, checkpointRow(at, { output }), run.epoch))) {
            throw new AlreadyRecorded();
          }
          return { value, output };
        };
        const { value, output } = await observeStepAttempt({ workflowId: run.workflowId, stepId, stepName: registration.name, attempt }, () =>
          isolationLevel ? this.deps.dataSource.transaction(isolationLevel, body) : this.deps.dataSource.transaction(body),
        );
        if (readOnly) return await steps.record(run, checkpointRow(at, { output }), () => value);
        return value;
      } catch (caught) {
        // Taken by another run (adopt its row), or the fence refused this run (its writes rolled back).
        if (caught instanceof AlreadyRecorded) return steps.adoptTaken(run, stepId, registration.name);
        // Outside the body (connect, BEGIN, the checkpoint, COMMIT) a lost connection is the
        // module's own: rolled back, or committed with its checkpoint; the replay after it tells which.
        const err = caught instanceof BodyFailure ? caught.failure : isConnectionError(caught) ? asUnavailable(caught, this.target()) : caught;
        const instead = run.notAnOutcome(err);
        if (instead !== undefined) throw instead;
        const code = (err as { code?: string }).code;
        if (code && RETRYABLE_TRANSACTION_ERRORS.has(code) && attempt < 10) {
          this.logger.warn(`${workflowLabel(run.workflowId, { stepId, stepName: registration.name })}: transaction hit ${code} (attempt ${attempt}), retrying`);
          await delay(backoff(attempt, TRANSACTION_RETRY));
          continue;
        }
        // The transaction rolled back; its failure is recorded so a replay throws the same error.
        return steps.record(run, checkpointRow(at, { error: serializeError(err) }), () => {
          throw err;
        });
      }
    }
  }

  private target(): string {
    return describeTarget({ dataSource: this.deps.dataSource });
  }

  /**
   * Whose failure a @Transaction body's error is. One that looks like a lost connection is the
   * module's (an outage, never recorded) only if the transaction's own connection is in fact
   * gone: a probe on it tells. Otherwise (an HTTP API the body called is down, a constraint
   * violated) it is the body's own, recorded like any step error.
   */
  private async classifyBodyFailure(manager: EntityManager, err: unknown): Promise<unknown> {
    if (err instanceof DbosDatabaseUnavailableError) return err; // raised by the module's own connection (a send inside the body)
    if ((err as Error)?.name === 'EntityMetadataNotFoundError' && this.deps.onOwnPool) {
      (err as Error).message +=
        '. @Transaction methods run on the pool the module opened from database.url, which knows only the entities in ' +
        'DbosModule.forRoot({ database: { entities } }): add this entity there, or pass your TypeORM DataSource as database.dataSource.';
    }
    if (!isConnectionError(err)) return new BodyFailure(err);
    const probe = await manager.query('SELECT 1').then(
      () => undefined,
      (probeErr: unknown) => probeErr,
    );
    return probe !== undefined && isConnectionError(probe) ? asUnavailable(err, this.target()) : new BodyFailure(err);
  }

  /** Outside a workflow (or nested in a step) a @Transaction is still a transaction, just not checkpointed. */
  private runOutsideWorkflow(registration: StepRegistration, instance: object, args: unknown[]): Promise<unknown> {
    const store = currentWorkflowContext();
    if (store?.entityManager) return registration.method.apply(instance, args);
    return this.deps.dataSource.transaction((manager) =>
      workflowContextStorage.run(
        { ...(store ?? { run: { workflowId: '', abortSignal: new AbortController().signal } }), entityManager: manager, stepName: registration.name },
        () => registration.method.apply(instance, args),
      ),
    );
  }
}
