import type { WorkflowStatusRow } from './entities/workflow-status.entity';
import { statusColumnsOf, toStatusRow } from './row-mapping';
import type { SystemDatabase } from './system-database';

export interface ExecutorRow {
  executorId: string;
  applicationVersion: string;
  hostname: string;
  pid: number;
  instanceId: string;
  heartbeatAt: number;
}

/** Executors, their heartbeats, and the adoption of a silent executor's workflows. */
export class ExecutorRepository {
  constructor(private readonly db: SystemDatabase) {}

  async get(executorId: string): Promise<ExecutorRow | null> {
    const rows = await this.db.query<Record<string, string>>(
      `SELECT executor_id, application_version, hostname, pid, instance_id, heartbeat_at FROM ${this.db.s}.executors WHERE executor_id = $1`,
      [executorId],
    );
    const r = rows[0];
    return r
      ? { executorId: r.executor_id, applicationVersion: r.application_version, hostname: r.hostname, pid: Number(r.pid), instanceId: r.instance_id, heartbeatAt: Number(r.heartbeat_at) }
      : null;
  }

  /** Registers the executor, or refreshes its heartbeat. */
  async register(row: Omit<ExecutorRow, 'heartbeatAt'>, now: number): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.db.s}.executors (executor_id, application_version, hostname, pid, instance_id, started_at, heartbeat_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6)
       ON CONFLICT (executor_id) DO UPDATE SET application_version = EXCLUDED.application_version, hostname = EXCLUDED.hostname,
         pid = EXCLUDED.pid, instance_id = EXCLUDED.instance_id, heartbeat_at = EXCLUDED.heartbeat_at`,
      [row.executorId, row.applicationVersion, row.hostname, row.pid, row.instanceId, now],
    );
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
          AND (e.heartbeat_at < $3 OR (e.executor_id IS NULL AND w.updated_at < $3))
        LIMIT $4`,
      [applicationVersion, selfId, Date.now() - leaseMs, limit],
    );
    return rows.map(toStatusRow);
  }

  /**
   * Takes one orphan over: exactly one adopter wins, because the update re-checks the previous
   * owner under the row lock. Counts as a recovery attempt.
   */
  async adopt(workflowId: string, previousExecutorId: string, selfId: string, leaseMs: number): Promise<WorkflowStatusRow | null> {
    const now = Date.now();
    // Re-checks, under the row lock, that the owner is still silent: it may have come back since the scan.
    const rows = await this.db.query(
      `UPDATE ${this.db.s}.workflow_status w
          SET executor_id = $3, recovery_attempts = recovery_attempts + 1, updated_at = $4
        WHERE w.workflow_id = $1 AND w.status = 'PENDING' AND w.executor_id = $2
          AND NOT EXISTS (SELECT 1 FROM ${this.db.s}.executors e WHERE e.executor_id = $2 AND e.heartbeat_at >= $5)
       RETURNING ${statusColumnsOf('w')}`,
      [workflowId, previousExecutorId, selfId, now, now - leaseMs],
    );
    return rows.length > 0 ? toStatusRow(rows[0]) : null;
  }
}
