import type { WorkflowStatusRow } from './system.rows';
import { statusColumnsOf, toStatusRow } from './row.mapping';
import type { Queryable } from './queryable.interface';
import type { SystemDatabase } from './system.database';

/** Now on the database's clock (epoch ms): leases are judged on one clock, not each host's. */
const DB_NOW = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;


export interface ExecutorRow {
  executorId: string;
  applicationVersion: string;
  hostname: string;
  pid: number;
  instanceId: string;
  heartbeatAt: number;
  /** How long ago that heartbeat was, on the database clock. */
  heartbeatAgeMs: number;
}

/** Executors, their heartbeats, and the adoption of a silent executor's workflows. */
export class ExecutorRepository {
  constructor(private readonly db: SystemDatabase) {}

  async get(executorId: string): Promise<ExecutorRow | null> {
    const rows = await this.db.query<Record<string, string>>(
      `SELECT executor_id, application_version, hostname, pid, instance_id, heartbeat_at, ${DB_NOW} - heartbeat_at AS age
         FROM ${this.db.s}.executors WHERE executor_id = $1`,
      [executorId],
    );
    const r = rows[0];
    return r
      ? { executorId: r.executor_id, applicationVersion: r.application_version, hostname: r.hostname, pid: Number(r.pid), instanceId: r.instance_id, heartbeatAt: Number(r.heartbeat_at), heartbeatAgeMs: Number(r.age) }
      : null;
  }

  /** Registers the executor, or refreshes its heartbeat (database clock), on `via` (the heartbeat's own connection). */
  async register(via: Queryable, row: Omit<ExecutorRow, 'heartbeatAt' | 'heartbeatAgeMs'>): Promise<void> {
    const text = `INSERT INTO ${this.db.s}.executors (executor_id, application_version, hostname, pid, instance_id, started_at, heartbeat_at)
       VALUES ($1, $2, $3, $4, $5, ${DB_NOW}, ${DB_NOW})
       ON CONFLICT (executor_id) DO UPDATE SET application_version = EXCLUDED.application_version, hostname = EXCLUDED.hostname,
         pid = EXCLUDED.pid, instance_id = EXCLUDED.instance_id, heartbeat_at = EXCLUDED.heartbeat_at`;
    const values = [row.executorId, row.applicationVersion, row.hostname, row.pid, row.instanceId];
    await via.query(text, values);
  }


  async unregister(executorId: string, instanceId: string): Promise<void> {
    await this.db.query(`DELETE FROM ${this.db.s}.executors WHERE executor_id = $1 AND instance_id = $2`, [executorId, instanceId]);
  }

  /**
   * PENDING workflows of this version whose executor has been silent longer than the lease
   * (or never registered and untouched that long).
   */
  async orphans(applicationVersion: string, selfId: string, leaseMs: number, limit = 200): Promise<WorkflowStatusRow[]> {
    const rows = await this.db.query(
      `SELECT ${statusColumnsOf('w')}
         FROM ${this.db.s}.workflow_status w
         LEFT JOIN ${this.db.s}.executors e ON e.executor_id = w.executor_id
        WHERE w.status = 'PENDING' AND w.application_version = $1 AND w.executor_id <> $2
          AND (e.heartbeat_at < ${DB_NOW} - $3::bigint OR (e.executor_id IS NULL AND w.updated_at < ${DB_NOW} - $3::bigint))
        ORDER BY w.created_at
        LIMIT $4`,
      [applicationVersion, selfId, leaseMs, limit],
    );
    return rows.map(toStatusRow);
  }

  /**
   * Takes one orphan over: exactly one adopter wins, because the update re-checks the previous
   * owner under the row lock. Counts as a recovery attempt, and starts a new run (epoch) that
   * fences off the old owner should it come back. A workflow that came from a queue goes back to
   * it (ENQUEUED), so the queue's limits, worker concurrency included, decide where it runs.
   */
  async adopt(workflowId: string, previousExecutorId: string, selfId: string, leaseMs: number): Promise<WorkflowStatusRow | null> {
    // Re-checks, under the row lock, that the owner is still silent: it may have come back since the scan.
    const rows = await this.db.query(
      `UPDATE ${this.db.s}.workflow_status w
          SET executor_id = CASE WHEN w.queue_name IS NULL THEN $3 END, recovery_attempts = recovery_attempts + 1,
              run_epoch = run_epoch + 1, updated_at = $4,
              status = CASE WHEN w.queue_name IS NULL THEN 'PENDING' ELSE 'ENQUEUED' END
        WHERE w.workflow_id = $1 AND w.status = 'PENDING' AND w.executor_id = $2
          AND NOT EXISTS (SELECT 1 FROM ${this.db.s}.executors e WHERE e.executor_id = $2 AND e.heartbeat_at >= ${DB_NOW} - $5::bigint)
       RETURNING ${statusColumnsOf('w')}`,
      [workflowId, previousExecutorId, selfId, Date.now(), leaseMs],
    );
    return rows.length > 0 ? toStatusRow(rows[0]) : null;
  }
}
