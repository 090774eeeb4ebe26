import type { PoolClient } from 'pg';
import type { EntityManager } from 'typeorm';
import type { OperationOutputRow } from './entities/operation-output.entity';
import { STEP_COLUMNS, toStepRow } from './row-mapping';
import type { SystemDatabase } from './system-database';
import { WriteBatcher } from './write-batcher';

/** Recorded, or the row another executor recorded first at the same position (to adopt). */
export type RecordCheckpointResult = { recorded: true } | { recorded: false; existing: OperationOutputRow };

/** Step checkpoints: one row per operation of a workflow, keyed by its call order. */
export class CheckpointRepository {
  private readonly inserts: WriteBatcher<OperationOutputRow, RecordCheckpointResult>;

  constructor(private readonly db: SystemDatabase) {
    this.inserts = new WriteBatcher((rows) => this.insertBatch(rows));
  }

  /** One round trip (shared with concurrent checkpoints of other workflows). */
  record(row: OperationOutputRow): Promise<RecordCheckpointResult> {
    return this.inserts.add(row);
  }

  private async insertBatch(rows: OperationOutputRow[]): Promise<RecordCheckpointResult[]> {
    const inserted = await this.db.query<{ workflow_id: string; step_id: number }>(
      `INSERT INTO ${this.db.s}.operation_outputs (${STEP_COLUMNS})
       SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[])
       ON CONFLICT (workflow_id, step_id) DO NOTHING
       RETURNING workflow_id, step_id`,
      [
        rows.map((r) => r.workflowId),
        rows.map((r) => r.stepId),
        rows.map((r) => r.stepName),
        rows.map((r) => r.output),
        rows.map((r) => r.error),
        rows.map((r) => r.childWorkflowId),
        rows.map((r) => r.startedAt),
        rows.map((r) => r.completedAt),
      ],
    );
    const key = (workflowId: string, stepId: number) => `${stepId}:${workflowId}`;
    const unclaimed = new Set(inserted.map((r) => key(r.workflow_id, Number(r.step_id))));
    const results: RecordCheckpointResult[] = [];
    for (const row of rows) {
      if (unclaimed.delete(key(row.workflowId, row.stepId))) {
        results.push({ recorded: true });
      } else {
        const existing = await this.get(row.workflowId, row.stepId);
        // Only reachable if the row was deleted between the conflict and this read.
        results.push(existing ? { recorded: false, existing } : { recorded: true });
      }
    }
    return results;
  }

  /**
   * Inserts the checkpoint inside the caller's transaction (a `@Transaction` step), so it commits or
   * rolls back with the step's own writes. False when the position is already taken.
   */
  async recordInTransaction(manager: EntityManager, row: OperationOutputRow): Promise<boolean> {
    const inserted: unknown[] = await manager.query(`${this.insertOneSql} RETURNING step_id`, insertOneValues(row));
    return inserted.length > 0;
  }

  /** Inserts the checkpoint on a system-database transaction's client. False when the position is taken. */
  async recordWith(client: Pick<PoolClient, 'query'>, row: OperationOutputRow): Promise<boolean> {
    const result = await client.query(this.insertOneSql, insertOneValues(row));
    return (result.rowCount ?? 0) > 0;
  }

  private get insertOneSql(): string {
    return `INSERT INTO ${this.db.s}.operation_outputs (${STEP_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (workflow_id, step_id) DO NOTHING`;
  }

  /** Copies the checkpoints before `beforeStep` to another workflow (fork). */
  async copy(client: Pick<PoolClient, 'query'>, fromId: string, toId: string, beforeStep: number): Promise<void> {
    await client.query(
      `INSERT INTO ${this.db.s}.operation_outputs (${STEP_COLUMNS})
       SELECT $2, step_id, step_name, output, error, child_workflow_id, started_at, completed_at
         FROM ${this.db.s}.operation_outputs WHERE workflow_id = $1 AND step_id < $3`,
      [fromId, toId, beforeStep],
    );
  }

  /** Removes the failed checkpoints after the last successful one, so a resume runs those steps again. */
  async dropTrailingErrors(workflowId: string, client: Pick<PoolClient, 'query'>): Promise<void> {
    await client.query(
      `DELETE FROM ${this.db.s}.operation_outputs
        WHERE workflow_id = $1 AND error IS NOT NULL
          AND step_id > COALESCE((SELECT max(step_id) FROM ${this.db.s}.operation_outputs WHERE workflow_id = $1 AND error IS NULL), -1)`,
      [workflowId],
    );
  }

  async get(workflowId: string, stepId: number): Promise<OperationOutputRow | null> {
    const rows = await this.db.query(
      `SELECT ${STEP_COLUMNS} FROM ${this.db.s}.operation_outputs WHERE workflow_id = $1 AND step_id = $2`,
      [workflowId, stepId],
    );
    return rows.length > 0 ? toStepRow(rows[0]) : null;
  }

  /** Every checkpoint of a workflow, in one read: what a replay needs. */
  async loadAll(workflowId: string): Promise<OperationOutputRow[]> {
    const rows = await this.db.query(
      `SELECT ${STEP_COLUMNS} FROM ${this.db.s}.operation_outputs WHERE workflow_id = $1 ORDER BY step_id`,
      [workflowId],
    );
    return rows.map(toStepRow);
  }
}

function insertOneValues(row: OperationOutputRow): unknown[] {
  return [row.workflowId, row.stepId, row.stepName, row.output, row.error, row.childWorkflowId, row.startedAt, row.completedAt];
}
