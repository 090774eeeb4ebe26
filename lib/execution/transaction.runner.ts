import { Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { backoff } from '../common/backoff.util';
import { delay } from '../common/delay.util';
import { currentWorkflowContext, workflowContextStorage } from '../context/workflow-context.storage';
import type { StepRegistration } from '../discovery/workflow.registry';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import type { TransactionAdapter } from '../interfaces/transaction-adapter.interface';
import { observeStepAttempt } from '../observability/step-attempt';
import { serializeError } from '../serialization/value.codec';
import type { CheckpointRepository } from '../system-database/checkpoint.repository';
import { asUnavailable, isConnectionError, isReadOnlyRefusal } from '../system-database/connection-errors.util';
import { serializeWithin } from '../workflow/workflow.limits';
import { checkpointRow, replayCheckpoint } from './checkpoint.rows';
import { DbosRunSuperseded } from './run-superseded.error';
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
  /** Where @Transaction runs: the app's ORM (`transactions`), else TypeORM on the app's DataSource or on a pool the module opened. */
  transactions: TransactionAdapter;
  /** True when that is a TypeORM pool the module opened (its entities are `database.entities`), not the app's DataSource. */
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
        const { transactions } = this.deps;
        const body = async (tx: unknown) => {
          if (readOnly) await transactions.query(tx, 'SET TRANSACTION READ ONLY');
          let value: unknown;
          try {
            value = await workflowContextStorage.run({ run, stepName: registration.name, stepId, ...this.transactionObject(tx) }, () =>
              registration.method.apply(instance, args),
            );
            await transactions.beforeCheckpoint?.(tx);
          } catch (err) {
            throw await this.classifyBodyFailure(tx, err, readOnly === true);
          }
          // The process "died" (the test kit's crash()) while the body ran: nothing of it commits.
          if (run.hasCrashed) throw new DbosRunSuperseded(run.workflowId);
          const output = serializeWithin(value, `the output of transaction ${registration.name}`, this.deps.limits.maxPayloadBytes);
          // A read-only transaction cannot write its checkpoint; it has no effects to guard either.
          const record = (text: string, values?: unknown[]) => transactions.query(tx, text, values);
          if (!readOnly && !(await checkpoints.recordInTransaction(record, checkpointRow(at, { output }), run.epoch))) {
            throw new AlreadyRecorded();
          }
          return { value, output };
        };
        const { value, output } = await observeStepAttempt({ workflowId: run.workflowId, stepId, stepName: registration.name, attempt }, () =>
          transactions.transaction(body, { isolationLevel }),
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
        const code = sqlStateOf(err);
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
    return this.deps.transactions.describe();
  }

  /** What DbosContext hands the method: the ORM's transaction object (`dbos.tx()`), and for TypeORM also `dbos.entityManager`. */
  private transactionObject(tx: unknown): { tx: unknown; entityManager?: EntityManager } {
    return this.deps.transactions.name === 'typeorm' ? { tx, entityManager: tx as EntityManager } : { tx };
  }

  /**
   * Whose failure a @Transaction body's error is. One that looks like a lost connection is the
   * module's (an outage, never recorded) only if the transaction's own connection is in fact
   * gone: a probe on it tells. Otherwise (an HTTP API the body called is down, a constraint
   * violated) it is the body's own, recorded like any step error. A write refused as read-only
   * (25006) in a transaction the module did not make read-only means the server is a standby (a
   * failover under way): the database is unavailable; in a `readOnly` one it is the body's bug.
   */
  private async classifyBodyFailure(tx: unknown, err: unknown, readOnly: boolean): Promise<unknown> {
    if (err instanceof DbosDatabaseUnavailableError) return err; // raised by the module's own connection (a send inside the body)
    if (isReadOnlyRefusal(err)) return readOnly ? new BodyFailure(err) : asUnavailable(err, this.target());
    if ((err as Error)?.name === 'EntityMetadataNotFoundError' && this.deps.onOwnPool) {
      (err as Error).message +=
        '. @Transaction methods run on the pool the module opened from database.url, which knows only the entities in ' +
        'DbosModule.forRoot({ database: { entities } }): add this entity there, or pass your TypeORM DataSource as database.dataSource.';
    }
    if (!isConnectionError(err) && !isConnectionError((err as { cause?: unknown })?.cause)) return new BodyFailure(err);
    const probe = await this.deps.transactions.query(tx, 'SELECT 1').then(
      () => undefined,
      (probeErr: unknown) => probeErr,
    );
    return probe !== undefined && isConnectionError(probe) ? asUnavailable(err, this.target()) : new BodyFailure(err);
  }

  /** Outside a workflow (or nested in a step) a @Transaction is still a transaction, just not checkpointed. */
  private runOutsideWorkflow(registration: StepRegistration, instance: object, args: unknown[]): Promise<unknown> {
    const store = currentWorkflowContext();
    if (store?.tx !== undefined) return registration.method.apply(instance, args);
    return this.deps.transactions.transaction(
      (tx) =>
        workflowContextStorage.run(
          { ...(store ?? { run: { workflowId: '', abortSignal: new AbortController().signal } }), ...this.transactionObject(tx), stepName: registration.name },
          () => registration.method.apply(instance, args) as Promise<unknown>,
        ),
      {},
    );
  }
}

/**
 * The SQLSTATE of a database error, also where an ORM wrapped the driver's error (Drizzle's
 * `cause`, TypeORM's `driverError`, Prisma's `meta.code`; Prisma's P2034 is its name for both).
 */
function sqlStateOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const { code, cause, driverError, meta } = e as { code?: unknown; cause?: unknown; driverError?: unknown; meta?: { code?: unknown } };
    if (code === 'P2034') return '40001';
    if (typeof meta?.code === 'string') return meta.code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('P')) return code;
    e = cause ?? driverError;
  }
  return undefined;
}
