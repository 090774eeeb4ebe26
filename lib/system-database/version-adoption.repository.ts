import { DB_NOW, whilePending } from './sql';
import { statusColumnsOf, toStatusRow } from './row.mapping';
import type { WorkflowStatusRow } from './system.rows';
import { readStatusRow, readStatusRows } from './payload.rows';
import type { SystemDatabase } from './system.database';

/** No executor of the row's version heartbeated within the lease ($lease). */
const versionIsSilent = (lease: string) =>
  `NOT EXISTS (SELECT 1 FROM {schema}.executors e WHERE e.application_version = w.application_version AND e.heartbeat_at >= ${DB_NOW} - ${lease}::bigint)`;

/** PENDING workflows of application versions no live executor runs, and their move to a new version. */
export class VersionAdoptionRepository {
  constructor(private readonly db: SystemDatabase) {}

  /** PENDING workflows (of these names) of other versions than `version` with no live executor of their version, oldest first. */
  async stranded(version: string, leaseMs: number, workflowNames: string[], limit: number): Promise<WorkflowStatusRow[]> {
    const rows = await this.db.query(
      `SELECT ${statusColumnsOf('w')} FROM {schema}.workflow_status w
        WHERE w.status = 'PENDING' AND w.application_version IS DISTINCT FROM $1 AND w.application_version IS NOT NULL
          AND w.workflow_name = ANY($3::text[]) AND ${versionIsSilent('$2')}
        ORDER BY w.created_at, w.workflow_id LIMIT $4`,
      [version, leaseMs, workflowNames, limit],
    );
    return readStatusRows(this.db.payloads, rows.map(toStatusRow));
  }

  /**
   * Moves one stranded workflow to `version` on executor `selfId`, fenced: only while it is still
   * PENDING at the epoch and version it was checked at and its version still has no live executor.
   * The epoch moves on, so a run of the old version that comes back writes nothing. Queued ones go
   * back to their queue. Null when it was taken or changed meanwhile.
   */
  async adopt(row: WorkflowStatusRow, selfId: string, version: string, leaseMs: number): Promise<WorkflowStatusRow | null> {
    const rows = await this.db.query(
      `UPDATE {schema}.workflow_status w
          SET application_version = $3, executor_id = CASE WHEN w.queue_name IS NULL THEN $2 END,
              recovery_attempts = w.recovery_attempts + 1, run_epoch = w.run_epoch + 1, updated_at = $6,
              status = CASE WHEN w.queue_name IS NULL THEN 'PENDING' ELSE 'ENQUEUED' END
        WHERE w.workflow_id = $1 AND ${whilePending('w', 'w.run_epoch = $4 AND w.application_version = $5')}
          AND ${versionIsSilent('$7')}
        RETURNING ${statusColumnsOf('w')}`,
      [row.workflowId, selfId, version, row.runEpoch, row.applicationVersion, Date.now(), leaseMs],
    );
    return readStatusRow(this.db.payloads, rows[0] ? toStatusRow(rows[0]) : null);
  }

  /** PENDING workflows of versions with no live executor (any name), oldest first: what `nestjs-dbos versions` lists. */
  async strandedAll(leaseMs: number, limit: number): Promise<WorkflowStatusRow[]> {
    const rows = await this.db.query(
      `SELECT ${statusColumnsOf('w')} FROM {schema}.workflow_status w
        WHERE w.status = 'PENDING' AND w.application_version IS NOT NULL AND ${versionIsSilent('$1')}
        ORDER BY w.application_version, w.created_at, w.workflow_id LIMIT $2`,
      [leaseMs, limit],
    );
    return readStatusRows(this.db.payloads, rows.map(toStatusRow));
  }

  /** Per application version: its PENDING workflows and its executors heartbeating within the lease. */
  async versions(leaseMs: number): Promise<{ applicationVersion: string; pending: number; liveExecutors: number }[]> {
    const rows = await this.db.query<{ v: string; pending: number; live: number }>(
      `SELECT v, (SELECT count(*)::int FROM {schema}.workflow_status w WHERE w.application_version = v AND w.status = 'PENDING') AS pending,
              (SELECT count(*)::int FROM {schema}.executors e WHERE e.application_version = v AND e.heartbeat_at >= ${DB_NOW} - $1::bigint) AS live
         FROM (SELECT DISTINCT application_version AS v FROM {schema}.workflow_status WHERE status = 'PENDING' AND application_version IS NOT NULL
               UNION SELECT application_version FROM {schema}.executors) versions
        ORDER BY v`,
      [leaseMs],
    );
    return rows.map((r) => ({ applicationVersion: r.v, pending: r.pending, liveExecutors: r.live }));
  }
}
