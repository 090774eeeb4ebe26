import type { EntityManager } from 'typeorm';
import type { OverlapPolicy } from './schedule.interface';

export interface RetryOptions {
  /** Total attempts, the first included. Default 3 when `retries` is given. */
  maxAttempts?: number;
  /** Wait before the first retry. Default 1000 ms. */
  intervalMs?: number;
  /** Multiplier of the wait after each retry. Default 2. */
  backoffRate?: number;
  /** Cap on a single wait. Default 60 000 ms. */
  maxIntervalMs?: number;
  /**
   * Which errors are retried: called with each failed attempt's error (a DbosTimeoutError for an
   * attempt past its `timeoutMs`) and the attempt's number, from 1. False (or a promise of false)
   * fails the step at once with that error; default: every error is retried. If it throws, the
   * step fails at once with the attempt's error and the predicate's failure is logged.
   */
  retryIf?: (error: unknown, attempt: number) => boolean | Promise<boolean>;
}

export interface WorkflowDecoratorOptions {
  /** Registered name; default `ClassName.methodName`. */
  name?: string;
  /** Recoveries allowed before MAX_RECOVERY_ATTEMPTS_EXCEEDED; default from the module options. */
  maxRecoveryAttempts?: number;
  /** Deadline of every run of this workflow, from its start. */
  timeoutMs?: number;
}

export interface StepDecoratorOptions {
  /** Registered name; default `ClassName.methodName`. */
  name?: string;
  retries?: RetryOptions;
  /**
   * Deadline of each attempt, in ms of real time from the attempt's start. At the deadline the
   * attempt's `DbosContext.abortSignal` aborts and the attempt fails with DbosTimeoutError, even if
   * its code never settles; `retries` then decide. What the abandoned attempt returns or throws
   * later is ignored, never recorded. Default: no deadline.
   */
  timeoutMs?: number;
}

export type IsolationLevel = 'READ UNCOMMITTED' | 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';

export interface TransactionDecoratorOptions {
  name?: string;
  isolationLevel?: IsolationLevel;
  readOnly?: boolean;
}

/**
 * Small string key/values stored with a workflow (`{ tenant: 'acme', orderId: 'o-1' }`) and listed
 * by (`client.list({ attributes })`). At most 16 pairs; keys of 1 to 64 characters, values strings of
 * at most 256, 2048 bytes in all as JSON.
 */
export type WorkflowAttributes = Record<string, string>;

/** Options of one workflow start (`WorkflowClient.start`, `DbosContext.startWorkflow`). */
export interface StartWorkflowOptions {
  /** Idempotency key: starting an id that exists returns that workflow and never runs it twice. */
  workflowId?: string;
  /** Enqueue instead of starting at once; a dispatcher of any process starts it within the queue's limits. */
  queue?: string;
  /** Lower runs first, on a queue with `priorityEnabled`. */
  priority?: number;
  /** While a workflow with this id is queued or running on the queue, another enqueue of it is refused. */
  deduplicationId?: string;
  /** What a refused duplicate does: throw DbosConflictError (default) or return the existing handle. */
  onDuplicate?: 'reject' | 'return-existing';
  /** Partition of a partitioned queue. */
  partitionKey?: string;
  /** Not started before this delay has passed. */
  delayMs?: number;
  /** Deadline from the start (for a queued workflow: from when it is dequeued). */
  timeoutMs?: number;
  /** Stored with the workflow, shown by `getStatus()`/`list()`, and filtered on by `list({ attributes })` (see WorkflowAttributes). */
  attributes?: WorkflowAttributes;
}

/** `WorkflowClient.start`: a start's options, and the app transaction to write it in. */
export interface ClientStartOptions extends StartWorkflowOptions {
  /**
   * Write the workflow in this TypeORM transaction (an EntityManager whose queryRunner is in a
   * transaction, on the system database): it exists only if that transaction commits, and runs
   * after the commit, on `queue` or the internal queue (docs/transactional-start.md).
   */
  entityManager?: EntityManager;
}

/** `WorkflowClient.enqueue` by workflow name, from any process. */
export interface EnqueueOptions extends Omit<StartWorkflowOptions, 'queue'> {
  workflowName: string;
  queue: string;
  /** Only executors of this version take it; default: any version. */
  applicationVersion?: string;
  /** Write the workflow in this TypeORM transaction, as `ClientStartOptions.entityManager`. */
  entityManager?: EntityManager;
}

export interface ScheduledOptions {
  /** Registered workflow name; default `ClassName.methodName`. */
  name?: string;
  /** Enqueue each tick on this queue instead of starting it at once. */
  queue?: string;
  /** IANA time zone of the cron expression (e.g. `Europe/Paris`); default UTC. */
  timezone?: string;
  /**
   * Start the ticks missed while no process was running, after a restart: `true` for up to 100,
   * or the most to start. Default false: missed ticks are skipped.
   */
  catchUp?: boolean | number;
  /**
   * What a tick does while the previous tick's workflow is still running (see OverlapPolicy);
   * default `'allow'`. Other policies decide each tick against the database and enqueue it (on
   * `queue`, or the internal queue) instead of starting it in the firing process.
   */
  overlap?: OverlapPolicy;
}
