import { DB_NOW, whilePending } from './sql';
import type { WorkflowStatusRow } from './system.rows';
import { statusColumnsOf, toStatusRow } from './row.mapping';
import type { Queryable } from './queryable.interface';
import { readStatusRows } from './payload.rows';
import type { SystemDatabase } from './system.database';

/** An orphan (w joined to its executor e): $1 version, $2 this executor, $3 lease, $4 workflow names run here. */
const ORPHAN_CONDITION = `w.status = 'PENDING' AND w.application_version = $1 AND w.executor_id <> $2 AND w.workflow_name = ANY($4::text[])
          AND (e.heartbeat_at < ${DB_NOW} - $3::bigint OR (e.executor_id IS NULL AND w.updated_at < ${DB_NOW} - $3::bigint))`;

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
         FROM {schema}.executors WHERE executor_id = $1`,
      [executorId],
    );
    const r = rows[0];
    return r
      ? {
          executorId: r.executor_id,
          applicationVersion: r.application_version,
          hostname: r.hostname,
          pid: Number(r.pid),
          instanceId: r.instance_id,
          heartbeatAt: Number(r.heartbeat_at),
          heartbeatAgeMs: Number(r.age),
        }
      : null;
  }

  /** Registers the executor, or refreshes its heartbeat (database clock), on `via` (the heartbeat's own connection). */
  async register(via: Queryable, row: Omit<ExecutorRow, 'heartbeatAt' | 'heartbeatAgeMs'>): Promise<void> {
    const text = `INSERT INTO {schema}.executors (executor_id, application_version, hostname, pid, instance_id, started_at, heartbeat_at)
       VALUES ($1, $2, $3, $4, $5, ${DB_NOW}, ${DB_NOW})
       ON CONFLICT (executor_id) DO UPDATE SET application_version = EXCLUDED.application_version, hostname = EXCLUDED.hostname,
         pid = EXCLUDED.pid, instance_id = EXCLUDED.instance_id, heartbeat_at = EXCLUDED.heartbeat_at`;
    const values = [row.executorId, row.applicationVersion, row.hostname, row.pid, row.instanceId];
    await this.db.on(via).unnamed(text, values);
  }

  async unregister(executorId: string, instanceId: string): Promise<void> {
    await this.db.query(`DELETE FROM {schema}.executors WHERE executor_id = $1 AND instance_id = $2`, [executorId, instanceId]);
  }

  /**
   * PENDING workflows of this version whose executor has been silent longer than the lease
   * (or never registered and untouched that long).
   */
  async orphans(applicationVersion: string, selfId: string, leaseMs: number, limit = 200): Promise<WorkflowStatusRow[]> {
    const rows = await this.db.query(
      `SELECT ${statusColumnsOf('w')}
         FROM {schema}.workflow_status w
         LEFT JOIN {schema}.executors e ON e.executor_id = w.executor_id
        WHERE w.status = 'PENDING' AND w.application_version = $1 AND w.executor_id <> $2
          AND (e.heartbeat_at < ${DB_NOW} - $3::bigint OR (e.executor_id IS NULL AND w.updated_at < ${DB_NOW} - $3::bigint))
        ORDER BY w.created_at
        LIMIT $4`,
      [applicationVersion, selfId, leaseMs, limit],
    );
    return readStatusRows(this.db.payloads, rows.map(toStatusRow));
  }

  /** Executors of this version whose heartbeat is within the lease (this one included once it beat). */
  async countLive(applicationVersion: string, leaseMs: number): Promise<number> {
    const rows = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM {schema}.executors WHERE application_version = $1 AND heartbeat_at >= ${DB_NOW} - $2::bigint`,
      [applicationVersion, leaseMs],
    );
    return rows[0]?.n ?? 0;
  }

  /** How many PENDING workflows of this version (of these names) belong to executors silent longer than the lease. */
  async countOrphans(applicationVersion: string, selfId: string, leaseMs: number, workflowNames: string[]): Promise<number> {
    const rows = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM {schema}.workflow_status w
         LEFT JOIN {schema}.executors e ON e.executor_id = w.executor_id
        WHERE ${ORPHAN_CONDITION}`,
      [applicationVersion, selfId, leaseMs, workflowNames],
    );
    return rows[0]?.n ?? 0;
  }

  /**
   * adopt() for a batch, in one statement: takes over up to `limit` orphans (oldest first) of
   * executors silent longer than the lease. Rows another adopter holds are skipped; the update
   * re-checks under the row lock that each previous owner is still silent, so exactly one adopter
   * wins each workflow and an owner that came back keeps its own. Each adoption counts as a
   * recovery attempt and starts a new run (epoch); queued ones go back to their queue.
   */
  async adoptBatch(
    applicationVersion: string,
    selfId: string,
    leaseMs: number,
    workflowNames: string[],
    limit: number,
  ): Promise<{ row: WorkflowStatusRow; previousExecutorId: string }[]> {
    const rows = await this.db.query(
      `WITH picked AS (
         SELECT w.workflow_id, w.executor_id
           FROM {schema}.workflow_status w
           LEFT JOIN {schema}.executors e ON e.executor_id = w.executor_id
          WHERE ${ORPHAN_CONDITION}
          ORDER BY w.created_at, w.workflow_id
          LIMIT $5
          FOR UPDATE OF w SKIP LOCKED
       )
       UPDATE {schema}.workflow_status w
          SET executor_id = CASE WHEN w.queue_name IS NULL THEN $2 END, recovery_attempts = w.recovery_attempts + 1,
              run_epoch = w.run_epoch + 1, updated_at = $6,
              status = CASE WHEN w.queue_name IS NULL THEN 'PENDING' ELSE 'ENQUEUED' END
         FROM picked p
        WHERE w.workflow_id = p.workflow_id AND ${whilePending('w', 'w.executor_id = p.executor_id AND w.executor_id <> $2')}
          AND NOT EXISTS (SELECT 1 FROM {schema}.executors e WHERE e.executor_id = w.executor_id AND e.heartbeat_at >= ${DB_NOW} - $3::bigint)
       RETURNING ${statusColumnsOf('w')}, p.executor_id AS previous_executor_id`,
      [applicationVersion, selfId, leaseMs, workflowNames, limit, Date.now()],
    );
    const read = await readStatusRows(this.db.payloads, rows.map(toStatusRow));
    return rows.map((raw, i) => ({ row: read[i], previousExecutorId: String(raw.previous_executor_id) })).sort((a, b) => a.row.createdAt - b.row.createdAt);
  }
}
