/** What the orchestrator (run.ts) and the workers (worker.ts) agree on. */

export interface ChaosInput {
  seq: number;
  /** Durable sleep after each step, in ms. */
  pauses: number[];
}

export const WORKFLOW_NAME = 'ChaosWork.run';
export const STEPS = 5;
export const APPLICATION_VERSION = 'chaos';
export const EXECUTOR_LEASE_MS = 3_000;
export const QUEUE = { name: 'chaos', concurrency: 20, workerConcurrency: 10 };
export const ORCHESTRATOR_APPLICATION_NAME = 'chaos-orchestrator';

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
