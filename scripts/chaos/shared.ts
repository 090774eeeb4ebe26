/** What the orchestrator (run.ts) and the workers (worker.ts) agree on. */

export interface ChaosInput {
  seq: number;
  /** Durable sleep after each step, in ms: one effect step per pause. */
  pauses: number[];
}

/** `ChaosWork.callsService`: one effect, a call of the orchestrator's HTTP service, another effect. */
export interface HttpInput {
  seq: number;
}

export interface HttpOutput {
  seq: number;
  reply: string;
}

/** What the HTTP step returns: the service's reply and the execution (see `ServiceCallError`) that got it. */
export interface ServiceReply {
  reply: string;
  execution: string;
}

/** `ChaosWork.parent`: an effect, a child workflow (`ChaosWork.run` with `child`), another effect. */
export interface ParentInput {
  seq: number;
  /** Call the child's @Workflow method directly (awaited), instead of startWorkflow + getResult. */
  direct: boolean;
  /** Durable sleep between startWorkflow and getResult (ms). */
  pause: number;
  child: ChaosInput;
}

export interface ParentOutput {
  seq: number;
  child: ChaosInput;
}

export const WORKFLOW_NAME = 'ChaosWork.run';
export const HTTP_WORKFLOW_NAME = 'ChaosWork.callsService';
export const PARENT_WORKFLOW_NAME = 'ChaosWork.parent';
export const HTTP_STEP_NAME = 'ChaosWork.callService';
export const STEPS = 5;
export const APPLICATION_VERSION = 'chaos';
export const EXECUTOR_LEASE_MS = 3_000;
/** `database.poolSize` of a worker: it opens up to 2 x this + 1 connections (the pool, the @Transaction pool, the heartbeat). */
export const WORKER_POOL_SIZE = 10;
/** How long a graceful stop (SIGTERM) waits for running steps. */
export const SHUTDOWN_TIMEOUT_MS = 5_000;
export const QUEUE = { name: 'chaos', concurrency: 20, workerConcurrency: 10 };
export const PARTITIONED_QUEUE = { name: 'chaos-partitioned', partitioned: true, partitionConcurrency: 1, workerConcurrency: 5 };
export const PARENT_QUEUE = { name: 'chaos-parents', workerConcurrency: 5 };
/** Retries of the HTTP step: 4 attempts, 200, 400 and 800 ms apart. */
export const HTTP_RETRIES = { maxAttempts: 4, intervalMs: 200, backoffRate: 2 };
/** Per request of the HTTP step. */
export const HTTP_REQUEST_TIMEOUT_MS = 2_000;
export const ORCHESTRATOR_APPLICATION_NAME = 'chaos-orchestrator';

/**
 * The errors the HTTP step throws (class names, as recorded): the service could not be reached or
 * failed, or the worker's HTTP client was already closed by its onModuleDestroy (a shutdown). Both
 * carry the `execution` (one per run of the workflow body) in an own field, so a recorded failure
 * can be matched with the requests the service saw.
 */
export const SERVICE_ERROR = 'ChaosServiceError';
export const CLIENT_CLOSED_ERROR = 'ChaosClientClosedError';

/** Prefix of the application_name of every worker connection of the run that uses `schema`. */
export function workerApplicationPrefix(schema: string): string {
  return `chaos-worker:${schema}:`;
}

/** `url` with its application_name set (so connections can be told apart in pg_stat_activity). */
export function withApplicationName(url: string, applicationName: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', applicationName);
  return parsed.toString();
}
