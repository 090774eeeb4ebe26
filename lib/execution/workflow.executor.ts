import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { isTerminal, outcomeOf } from '../client/workflow-outcome';
import { currentWorkflowContext, workflowContextStorage, type WorkflowContextStore, type WorkflowRunState, type WorkflowRuntime } from '../context/workflow-context.storage';
import type { StepRegistration, WorkflowRegistration } from '../discovery/workflow.registry';
import { DbosConflictError } from '../errors/conflict.error';
import { DbosMaxRecoveryAttemptsError } from '../errors/max-recovery-attempts.error';
import { DbosNondeterminismError } from '../errors/nondeterminism.error';
import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import { deserialize, deserializeError, serialize, serializeError } from '../serialization/value.codec';
import type { CheckpointRepository } from '../system-database/checkpoint.repository';
import type { OperationOutputRow } from '../system-database/entities/operation-output.entity';
import type { WorkflowStatusRow } from '../system-database/entities/workflow-status.entity';
import type { WorkflowStatusRepository } from '../system-database/workflow-status.repository';
import { withRetries } from './retry';
import { DbosShutdownInterrupt } from './shutdown-interrupt';

export interface ExecutorSettings {
  executorId: string;
  applicationVersion: string;
  maxRecoveryAttempts: number;
  shutdownTimeoutMs: number;
}

interface ExecutionState extends WorkflowRunState {
  /** Checkpoints of an earlier run, by position; null for a fresh workflow (nothing to read). */
  readonly recorded: Map<number, OperationOutputRow> | null;
}

/** Postgres errors after which a transaction is simply tried again. */
const RETRYABLE_TRANSACTION_ERRORS = new Set(['40001', '40P01']);

class AlreadyRecorded extends Error {}

/**
 * Runs workflows durably: records the start, checkpoints every step by call order, replays
 * recorded steps after a restart, and records the outcome.
 */
export class WorkflowExecutor implements WorkflowRuntime {
  private readonly logger = new Logger(WorkflowExecutor.name);
  private readonly running = new Map<string, Promise<unknown>>();
  private accepting = true;

  constructor(
    private readonly statuses: WorkflowStatusRepository,
    private readonly checkpoints: CheckpointRepository,
    private readonly transactionDataSource: DataSource,
    readonly settings: ExecutorSettings,
  ) {}

  /** Calling a @Workflow method: run it durably and return its result. */
  async callWorkflow(registration: WorkflowRegistration, args: unknown[]): Promise<unknown> {
    const workflowId = await this.startWorkflow(registration, args, {});
    return this.awaitLocalOrStored(workflowId);
  }

  /**
   * Records the workflow and starts it in the background. An id that exists is never run again:
   * its id is returned (or DbosConflictError when it belongs to another workflow).
   */
  async startWorkflow(registration: WorkflowRegistration, args: unknown[], options: StartWorkflowOptions): Promise<string> {
    this.assertAccepting();
    const inputs = serialize(args, `the arguments of workflow ${registration.name}`);
    const workflowId = options.workflowId ?? randomUUID();
    const now = Date.now();
    const result = await this.statuses.insert({
      workflowId,
      status: 'PENDING',
      workflowName: registration.name,
      className: registration.className,
      inputs,
      executorId: this.settings.executorId,
      applicationVersion: this.settings.applicationVersion,
      queueName: null,
      priority: options.priority ?? 0,
      deduplicationId: null,
      partitionKey: null,
      delayUntil: null,
      timeoutMs: null,
      deadline: null,
      parentWorkflowId: null,
      forkedFrom: null,
      startedAt: now,
      createdAt: now,
      updatedAt: now,
    });
    if (!result.inserted) {
      assertSameWorkflow(result.existing, registration, workflowId);
      return workflowId;
    }
    this.launch(registration, workflowId, args, null);
    return workflowId;
  }

  /** The result of a workflow running in this process, or undefined when it does not run here. */
  localResult(workflowId: string): Promise<unknown> | undefined {
    return this.running.get(workflowId);
  }

  isRunningHere(workflowId: string): boolean {
    return this.running.has(workflowId);
  }

  /** Resumes a PENDING workflow from its checkpoints (recovery). False when there was nothing to resume. */
  async resumePending(row: WorkflowStatusRow, registration: WorkflowRegistration): Promise<boolean> {
    if (this.running.has(row.workflowId) || !this.accepting) return false;
    const claimed = await this.statuses.claimForRecovery(row.workflowId, this.settings.executorId);
    if (!claimed) return false;
    const maxAttempts = registration.options.maxRecoveryAttempts ?? this.settings.maxRecoveryAttempts;
    if (claimed.recoveryAttempts > maxAttempts) {
      const error = serializeError(new DbosMaxRecoveryAttemptsError(row.workflowId, maxAttempts));
      await this.statuses.transition(row.workflowId, ['PENDING'], 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', error);
      this.logger.error(
        `Workflow ${row.workflowId} (${row.workflowName}) exceeded ${maxAttempts} recovery attempts and will not be resumed.`,
      );
      return false;
    }
    const args = deserialize<unknown[]>(claimed.inputs) ?? [];
    const steps = await this.checkpoints.loadAll(row.workflowId);
    this.launch(registration, row.workflowId, args, new Map(steps.map((s) => [s.stepId, s])));
    return true;
  }

  private launch(
    registration: WorkflowRegistration,
    workflowId: string,
    args: unknown[],
    recorded: Map<number, OperationOutputRow> | null,
  ): Promise<unknown> {
    const run: ExecutionState = { workflowId, workflowName: registration.name, nextStepId: 0, recorded };
    const promise = this.runToCompletion(registration, { run, runtime: this }, args);
    this.running.set(workflowId, promise);
    const forget = () => {
      this.running.delete(workflowId);
    };
    promise.then(forget, forget);
    return promise;
  }

  private async runToCompletion(registration: WorkflowRegistration, store: WorkflowContextStore, args: unknown[]): Promise<unknown> {
    const { workflowId } = store.run;
    let result: unknown;
    try {
      result = await workflowContextStorage.run(store, () => registration.method.apply(registration.instance, args));
    } catch (err) {
      if (err instanceof DbosShutdownInterrupt) throw err;
      return this.finish(workflowId, 'ERROR', null, serializeError(err), err);
    }
    let output: string;
    try {
      output = serialize(result, `the result of workflow ${registration.name}`);
    } catch (err) {
      return this.finish(workflowId, 'ERROR', null, serializeError(err), err);
    }
    return this.finish(workflowId, 'SUCCESS', output, null, result);
  }

  /** Records the outcome; if the row had already left PENDING (cancelled, finished elsewhere) that state wins. */
  private async finish(workflowId: string, status: 'SUCCESS' | 'ERROR', output: string | null, error: string | null, value: unknown): Promise<unknown> {
    const recorded = await this.statuses.complete({ workflowId, status, output, error });
    if (recorded) {
      if (status === 'ERROR') throw value;
      return value;
    }
    const row = await this.statuses.get(workflowId);
    if (!row || !isTerminal(row.status)) throw value;
    return outcomeOf(row);
  }

  /** A step: run once, checkpointed; replayed from its checkpoint. Outside a workflow, a plain call. */
  runStep(registration: StepRegistration, instance: object, args: unknown[]): Promise<unknown> {
    const store = currentWorkflowContext();
    if (!store || store.stepName !== undefined) return registration.method.apply(instance, args);
    return this.runOperation(registration.name, () =>
      withRetries(`Step ${registration.name} of workflow ${store.run.workflowId}`, registration.options.retries, this.logger, () =>
        workflowContextStorage.run({ ...store, stepName: registration.name }, () => registration.method.apply(instance, args)),
      ),
    );
  }

  /** Checkpoints `fn` as the next operation of the running workflow. */
  async runOperation<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const state = this.currentState();
    const stepId = state.nextStepId++;
    const recorded = state.recorded?.get(stepId);
    if (recorded) return replayCheckpoint<T>(state, stepId, name, recorded);
    this.checkInterrupt(state);
    const startedAt = Date.now();
    let value: T | undefined;
    let thrown: unknown;
    let output: string | null = null;
    let error: string | null = null;
    try {
      value = await fn();
      output = serialize(value, `the output of step ${name}`);
    } catch (err) {
      thrown = err;
      error = serializeError(err);
    }
    const result = await this.checkpoints.record({
      workflowId: state.workflowId, stepId, stepName: name, output, error, childWorkflowId: null, startedAt, completedAt: Date.now(),
    });
    if (!result.recorded) return replayCheckpoint<T>(state, stepId, name, result.existing);
    if (error !== null) throw thrown;
    return value as T;
  }

  /**
   * A transaction: the method and its checkpoint commit in one database transaction, so its
   * effects happen exactly once. Serialization failures and deadlocks are retried.
   */
  async runTransaction(registration: StepRegistration, instance: object, args: unknown[]): Promise<unknown> {
    const store = currentWorkflowContext();
    if (!store || store.stepName !== undefined) {
      if (store?.entityManager) return registration.method.apply(instance, args);
      return this.transactionDataSource.transaction((manager) =>
        workflowContextStorage.run({ ...(store ?? outsideStore()), entityManager: manager, stepName: registration.name }, () =>
          registration.method.apply(instance, args),
        ),
      );
    }
    const state = this.currentState();
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
          const value = await workflowContextStorage.run({ ...store, stepName: registration.name, entityManager: manager }, () =>
            registration.method.apply(instance, args),
          );
          const output = serialize(value, `the output of transaction ${registration.name}`);
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

  /** Stop taking work; wait (bounded) for running workflows to reach a step boundary. */
  async shutdown(): Promise<void> {
    this.accepting = false;
    const running = [...this.running.values()].map((p) => p.catch(() => undefined));
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

  get isAccepting(): boolean {
    return this.accepting;
  }

  private assertAccepting(): void {
    if (!this.accepting) {
      throw new DbosShutdownInterrupt('(new)');
    }
  }

  private awaitLocalOrStored(workflowId: string): Promise<unknown> {
    const local = this.running.get(workflowId);
    if (local) return local;
    return this.statuses.get(workflowId).then((row) => {
      if (row && isTerminal(row.status)) return outcomeOf(row);
      throw new DbosConflictError(
        `Workflow "${workflowId}" already exists and is ${row?.status ?? 'unknown'} in another executor; await it with WorkflowClient.retrieve().`,
      );
    });
  }

  private checkInterrupt(state: ExecutionState): void {
    if (!this.accepting) throw new DbosShutdownInterrupt(state.workflowId);
  }

  private currentState(): ExecutionState {
    const store = currentWorkflowContext();
    if (!store) throw new Error('No workflow is running in this context');
    return store.run as ExecutionState;
  }
}

function outsideStore(): WorkflowContextStore {
  return { run: { workflowId: '', workflowName: '', nextStepId: 0 }, runtime: { runOperation: (_n, fn) => fn() } };
}

function replayCheckpoint<T>(state: ExecutionState, stepId: number, name: string, row: OperationOutputRow): T {
  if (row.stepName !== name) {
    throw new DbosNondeterminismError(state.workflowId, stepId, row.stepName, name);
  }
  if (row.error !== null) throw deserializeError(row.error);
  return deserialize<T>(row.output);
}

function assertSameWorkflow(existing: WorkflowStatusRow | null, registration: WorkflowRegistration, workflowId: string): void {
  if (!existing) {
    throw new DbosConflictError(`Workflow "${workflowId}" could not be started: its deduplication id is taken.`);
  }
  if (existing.workflowName !== registration.name) {
    throw new DbosConflictError(
      `Workflow id "${workflowId}" is already used by a "${existing.workflowName}" workflow; it cannot start "${registration.name}". Use another workflow id.`,
    );
  }
}
