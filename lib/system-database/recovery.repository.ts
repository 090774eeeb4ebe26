import type { WorkflowStatusRow } from './system.rows';
import { STATUS_COLUMNS, statusColumnsOf, toStatusRow } from './row.mapping';
import { readStatusRow, readStatusRows } from './payload.rows';
import type { SystemDatabase } from './system.database';
import { whilePending } from './sql';

export interface ClaimOptions {
  /** Fail at once (55P03, see isLockNotAvailable) when another transaction holds the row, instead of waiting for it. */
  nowait?: boolean;
}

/**
 * The rows restart recovery takes (claimPendingBatch, findUnclaimed), given the placeholders of:
 * this executor, its version, the registered names, the ids to leave out (running here already),
 * and the time this process started (a row touched since is not an earlier life's).
 */
function recoverable(executorId: string, applicationVersion: string, workflowNames: string, exclude: string, touchedBefore: string): string {
  return `status = 'PENDING' AND executor_id = ${executorId} AND application_version = ${applicationVersion}
            AND workflow_name = ANY(${workflowNames}::text[]) AND NOT (workflow_id = ANY(${exclude}::text[])) AND updated_at < ${touchedBefore}`;
}

/** Recovery's statements: which PENDING runs are this executor's, claiming them back, and whether a run still owns its workflow. */
export class RecoveryRepository {
  constructor(private readonly db: SystemDatabase) {}

  /** Ids of this executor's PENDING workflows of this version whose row has not changed for `untouchedForMs`. */
  async findPendingIds(executorId: string, applicationVersion: string, untouchedForMs: number): Promise<string[]> {
    const rows = await this.db.query<{ workflow_id: string }>(
      `SELECT workflow_id FROM {schema}.workflow_status
        WHERE status = 'PENDING' AND executor_id = $1 AND application_version = $2 AND updated_at <= $3`,
      [executorId, applicationVersion, Date.now() - untouchedForMs],
    );
    return rows.map((r) => r.workflow_id);
  }

  /**
   * Counts one more recovery of a PENDING workflow of `executorId` (still at `expectedEpoch`, so
   * of two concurrent claimers one wins) and starts a new run of it
   * (a new epoch fences off any earlier run). A workflow that came from a queue goes back to it
   * (ENQUEUED, no executor), so the queue's limits decide when it runs again.
   * Null when it is no longer PENDING there (finished, cancelled or taken meanwhile). With
   * `nowait`, a row another transaction holds fails with Postgres' 55P03 instead of being waited for.
   */
  async claimForRecovery(workflowId: string, executorId: string, expectedEpoch: number, options: ClaimOptions = {}): Promise<WorkflowStatusRow | null> {
    // NOWAIT: the row is locked in a subquery first, and a held one fails at once (55P03).
    const row = options.nowait ? `(SELECT workflow_id FROM {schema}.workflow_status WHERE workflow_id = $1 FOR NO KEY UPDATE NOWAIT)` : '$1';
    const rows = await this.db.query(
      `UPDATE {schema}.workflow_status
          SET recovery_attempts = recovery_attempts + 1, run_epoch = run_epoch + 1, updated_at = $3,
              status = CASE WHEN queue_name IS NULL THEN 'PENDING' ELSE 'ENQUEUED' END,
              executor_id = CASE WHEN queue_name IS NULL THEN executor_id END
        WHERE workflow_id = ${row} AND ${whilePending('workflow_status', 'executor_id = $2 AND run_epoch = $4')}
       RETURNING ${STATUS_COLUMNS}`,
      [workflowId, executorId, Date.now(), expectedEpoch],
    );
    return readStatusRow(this.db.payloads, rows.length > 0 ? toStatusRow(rows[0]) : null);
  }

  /**
   * claimForRecovery for a batch, in one statement: the next `limit` PENDING workflows of this
   * executor and version (of these names, none of `exclude`) last touched before `touchedBefore`
   * (an earlier life of this executor: never a workflow this process started or resumed since),
   * after `after` in (created_at, workflow_id) order, each counted as one more recovery and handed
   * a new run (epoch); queued ones go back to their queue. Rows another transaction holds are
   * skipped, so that claimers never wait on each other: the pass tries them again afterwards, one
   * at a time and for a bounded while (findUnclaimed). The rows, with their inputs, in that order.
   */
  async claimPendingBatch(
    executorId: string,
    applicationVersion: string,
    workflowNames: string[],
    after: { createdAt: number; workflowId: string } | null,
    exclude: string[],
    limit: number,
    touchedBefore: number,
  ): Promise<WorkflowStatusRow[]> {
    const rows = await this.db.query(
      `WITH picked AS (
         SELECT workflow_id FROM {schema}.workflow_status
          WHERE ${recoverable('$1', '$2', '$3', '$6', '$9')}
            AND ($4::bigint IS NULL OR (created_at, workflow_id) > ($4::bigint, $5::text))
          ORDER BY created_at, workflow_id
          LIMIT $7
          FOR UPDATE SKIP LOCKED
       )
       UPDATE {schema}.workflow_status w
          SET recovery_attempts = w.recovery_attempts + 1, run_epoch = w.run_epoch + 1, updated_at = $8,
              status = CASE WHEN w.queue_name IS NULL THEN 'PENDING' ELSE 'ENQUEUED' END,
              executor_id = CASE WHEN w.queue_name IS NULL THEN w.executor_id END
         FROM picked p
        WHERE w.workflow_id = p.workflow_id
       RETURNING ${statusColumnsOf('w')}`,
      [executorId, applicationVersion, workflowNames, after?.createdAt ?? null, after?.workflowId ?? '', exclude, limit, Date.now(), touchedBefore],
    );
    return (await readStatusRows(this.db.payloads, rows.map(toStatusRow))).sort(
      (a, b) => a.createdAt - b.createdAt || (a.workflowId < b.workflowId ? -1 : a.workflowId > b.workflowId ? 1 : 0),
    );
  }

  /**
   * The rows claimPendingBatch would take now (same filter, no lock, no cursor): after a pass, the
   * ones it passed over because another transaction held them (a waiter marking the outcome
   * watched, an outcome being written), or that were claimed since by nothing.
   */
  async findUnclaimed(executorId: string, applicationVersion: string, workflowNames: string[], exclude: string[], touchedBefore: number): Promise<string[]> {
    const rows = await this.db.query<{ workflow_id: string }>(
      `SELECT workflow_id FROM {schema}.workflow_status WHERE ${recoverable('$1', '$2', '$3', '$4', '$5')} ORDER BY created_at, workflow_id`,
      [executorId, applicationVersion, workflowNames, exclude, touchedBefore],
    );
    return rows.map((r) => r.workflow_id);
  }

  /** This executor's PENDING workflows of this version whose names no registered workflow has, counted per name. */
  async countPendingUnknown(executorId: string, applicationVersion: string, workflowNames: string[]): Promise<{ workflowName: string; count: number }[]> {
    const rows = await this.db.query<{ workflow_name: string; n: number }>(
      `SELECT workflow_name, count(*)::int AS n FROM {schema}.workflow_status
        WHERE status = 'PENDING' AND executor_id = $1 AND application_version = $2 AND NOT (workflow_name = ANY($3::text[]))
        GROUP BY 1 ORDER BY 1`,
      [executorId, applicationVersion, workflowNames],
    );
    return rows.map((r) => ({ workflowName: r.workflow_name, count: r.n }));
  }

  /**
   * Of these runs (workflow and epoch), those that no longer own their workflow: it was cancelled,
   * finished or deleted, or another run has it now (resumed, adopted). No payloads are read.
   */
  async lostRuns(
    runs: { workflowId: string; epoch: number }[],
    executorId: string,
  ): Promise<{ workflowId: string; status: string; error: string | null; cancelRoot: string | null }[]> {
    if (runs.length === 0) return [];
    const rows = await this.db.query<{ workflow_id: string; status: string; error: string | null; cancel_root: string | null }>(
      // A deleted workflow (client.delete with force) is lost too: its status reads DELETED.
      `SELECT r.workflow_id, COALESCE(w.status, 'DELETED') AS status, w.error, w.cancel_root
         FROM unnest($1::text[], $2::int[]) AS r(workflow_id, run_epoch)
         LEFT JOIN {schema}.workflow_status w ON w.workflow_id = r.workflow_id
        WHERE w.workflow_id IS NULL OR NOT (w.status = 'PENDING' AND w.executor_id = $3 AND w.run_epoch = r.run_epoch)`,
      [runs.map((r) => r.workflowId), runs.map((r) => r.epoch), executorId],
    );
    const errors = await this.db.payloads.decodeAll(
      rows.map((r) => r.error),
      'error',
    );
    return rows.map((r, i) => ({ workflowId: r.workflow_id, status: r.status, error: errors[i], cancelRoot: r.cancel_root }));
  }

  /** Ownership as the database sees it now: whether the run of `epoch` on `executorId` still owns the workflow. */
  async isOwnedBy(workflowId: string, executorId: string, epoch: number): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT 1 FROM {schema}.workflow_status w WHERE w.workflow_id = $1 AND ${whilePending('w', 'w.executor_id = $2 AND w.run_epoch = $3')}`,
      [workflowId, executorId, epoch],
    );
    return rows.length > 0;
  }
}
