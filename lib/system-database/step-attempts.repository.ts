import type { SystemDatabase } from './system.database';

/** One attempt of a retried step that threw. Times are epoch ms; `error` is the value codec's text of the error. */
export interface FailedAttempt {
  workflowId: string;
  stepId: number;
  /** From 1. */
  attempt: number;
  startedAt: number;
  endedAt: number;
  error: string;
}

/**
 * The failed attempts of retried steps (`step_attempts`): written by the step runner as each
 * attempt fails, read by the dashboard's timeline. Only failures of steps with `retries` are
 * written, so a step that succeeds at once costs nothing here.
 */
export class StepAttemptsRepository {
  constructor(private readonly db: SystemDatabase) {}

  async record(failed: FailedAttempt): Promise<void> {
    const error = await this.db.payloads.encode(failed.error, 'error');
    // A repeated attempt number (a replay of the same run) keeps the first row.
    await this.db.unnamed(
      `INSERT INTO {schema}.step_attempts (workflow_id, step_id, attempt, started_at, ended_at, error)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [failed.workflowId, failed.stepId, failed.attempt, failed.startedAt, failed.endedAt, error],
    );
  }
}
