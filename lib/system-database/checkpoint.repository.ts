import type { OperationOutputRow } from './system.rows';
import { STEP_COLUMNS, stepColumnsOf, toStepRow } from './row.mapping';
import { ownedBy, type Sql, type StatementRunner } from './sql';
import { readStepRows, storedStepRow } from './payload.rows';
import type { PayloadCodec } from '../payloads/payload.codec';
import type { SystemDatabase } from './system.database';
import { rowSource } from './row-source.util';
import { WriteBatcher } from './write.batcher';

/**
 * Recorded; or the row another run recorded first at the same position (to adopt); or fenced:
 * the workflow is no longer PENDING under this run's epoch (cancelled, resumed, adopted), so
 * nothing was written and the run must stop.
 */
export type RecordCheckpointResult = { recorded: true } | NotRecorded;
export type NotRecorded = { recorded: false; existing: OperationOutputRow } | { recorded: false; fenced: true };

/** A checkpoint and the epoch of the run that writes it. */
export interface FencedCheckpoint {
  row: OperationOutputRow;
  epoch: number;
}

/** Step checkpoints: one row per operation of a workflow, keyed by its call order. */
export class CheckpointRepository {
  private readonly inserts: WriteBatcher<FencedCheckpoint, RecordCheckpointResult>;

  constructor(private readonly db: SystemDatabase) {
    this.inserts = new WriteBatcher((rows) => this.insertBatch(rows));
  }

  /** One round trip (shared with concurrent checkpoints of other workflows); written only while `epoch` owns the workflow. */
  record(row: OperationOutputRow, epoch: number): Promise<RecordCheckpointResult> {
    return this.inserts.add({ row, epoch });
  }

  private async insertBatch(items: FencedCheckpoint[]): Promise<RecordCheckpointResult[]> {
    const rows = items.map((i) => i.row);
    const [outputs, errors] = await Promise.all([
      this.db.payloads.encodeAll(rows.map((r) => r.output)),
      this.db.payloads.encodeAll(
        rows.map((r) => r.error),
        'error',
      ),
    ]);
    const source = rowSource(
      ['text', 'int', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'int'],
      [
        rows.map((r) => r.workflowId),
        rows.map((r) => r.stepId),
        rows.map((r) => r.stepName),
        outputs,
        errors,
        rows.map((r) => r.childWorkflowId),
        rows.map((r) => r.startedAt),
        rows.map((r) => r.completedAt),
        items.map((i) => i.epoch),
      ],
      `u(${STEP_COLUMNS}, run_epoch)`,
    );
    const inserted = await this.db.query<{ workflow_id: string; step_id: number }>(
      `INSERT INTO {schema}.operation_outputs (${STEP_COLUMNS})
       SELECT u.workflow_id, u.step_id, u.step_name, u.output, u.error, u.child_workflow_id, u.started_at, u.completed_at
         FROM ${source.from}
        WHERE ${ownedBy('u.workflow_id', 'u.run_epoch')}
       ON CONFLICT (workflow_id, step_id) DO NOTHING
       RETURNING workflow_id, step_id`,
      source.values,
    );
    const key = (workflowId: string, stepId: number) => `${stepId}:${workflowId}`;
    const unclaimed = new Set(inserted.map((r) => key(r.workflow_id, Number(r.step_id))));
    const results: RecordCheckpointResult[] = [];
    for (const row of rows) {
      if (unclaimed.delete(key(row.workflowId, row.stepId))) results.push({ recorded: true });
      else results.push(await this.notRecorded(row.workflowId, row.stepId, items[results.length].epoch));
    }
    return results;
  }

  /**
   * Why a checkpoint was not written: the run was fenced off (the workflow is no longer its own,
   * even if the other run wrote that position too), or another run wrote the position first.
   */
  async notRecorded(workflowId: string, stepId: number, epoch: number): Promise<NotRecorded> {
    const rows = await this.db.query(
      `SELECT ${ownedBy('$1::text', '$3::int')} AS owned, ${stepColumnsOf('o')}
         FROM (SELECT 1) one LEFT JOIN {schema}.operation_outputs o ON o.workflow_id = $1 AND o.step_id = $2`,
      [workflowId, stepId, epoch],
    );
    if (!rows[0]?.owned || rows[0].step_id === null) return { recorded: false, fenced: true };
    return { recorded: false, existing: (await readStepRows(this.db.payloads, [toStepRow(rows[0])]))[0] };
  }

  /**
   * Inserts the checkpoint inside the app's transaction (a `@Transaction` step, `run` being its ORM's
   * raw statement), so it commits or rolls back with the step's own writes. False when the position is already taken.
   */
  async recordInTransaction(run: StatementRunner, row: OperationOutputRow, epoch: number): Promise<boolean> {
    return this.recordWith(this.db.on(run), row, epoch);
  }

  /** Inserts the checkpoint on a system-database transaction's client. False when the position is taken or fenced. */
  async recordWith(tx: Sql, row: OperationOutputRow, epoch: number): Promise<boolean> {
    const stored = await storedStepRow(this.db.payloads, row);
    const inserted = await tx.unnamed(`${this.insertOneSql} RETURNING step_id`, insertOneValues(stored, epoch));
    return inserted.length > 0;
  }

  /**
   * Inserts the checkpoint and, in the same statement, the operation's own writes: `effects` are
   * CTEs that read the CTE `recorded` (the checkpoint's row, `workflow_id`, when it was written),
   * so they write only if the checkpoint was; their parameters are numbered from $10 (`values`).
   * One round trip and one commit, no transaction held open. False when the position is taken or fenced.
   */
  async recordWithEffects(row: OperationOutputRow, epoch: number, effects: string, values: unknown[]): Promise<boolean> {
    const stored = await storedStepRow(this.db.payloads, row);
    const rows = await this.db.query<{ recorded: number }>(
      `WITH recorded AS (${this.insertOneSql} RETURNING workflow_id), ${effects}
       SELECT count(*)::int AS recorded FROM recorded`,
      [...insertOneValues(stored, epoch), ...values],
    );
    return rows[0].recorded > 0;
  }

  /** Typed placeholders: an ORM that binds its own parameter types (Prisma) inserts the same row as pg does. */
  private get insertOneSql(): string {
    return `INSERT INTO {schema}.operation_outputs (${STEP_COLUMNS})
            SELECT $1::text, $2::int, $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::bigint WHERE ${ownedBy('$1::text', '$9::int')}
            ON CONFLICT (workflow_id, step_id) DO NOTHING`;
  }

  /** Copies the checkpoints before `beforeStep` to another workflow (fork). */
  async copy(tx: Sql, fromId: string, toId: string, beforeStep: number): Promise<void> {
    await tx.unnamed(
      `INSERT INTO {schema}.operation_outputs (${STEP_COLUMNS})
       SELECT $2, step_id, step_name, output, error, child_workflow_id, started_at, completed_at
         FROM {schema}.operation_outputs WHERE workflow_id = $1 AND step_id < $3`,
      [fromId, toId, beforeStep],
    );
  }

  /** Removes the failed checkpoints after the last successful one, so a resume runs those steps again. */
  async dropTrailingErrors(tx: Sql, workflowId: string): Promise<void> {
    await tx.unnamed(
      `DELETE FROM {schema}.operation_outputs
        WHERE workflow_id = $1 AND error IS NOT NULL
          AND step_id > COALESCE((SELECT max(step_id) FROM {schema}.operation_outputs WHERE workflow_id = $1 AND error IS NULL), -1)`,
      [workflowId],
    );
  }

  /** Every checkpoint of each of these workflows, in one read: what a batch of replays needs. */
  async loadMany(workflowIds: string[]): Promise<Map<string, OperationOutputRow[]>> {
    const byWorkflow = new Map<string, OperationOutputRow[]>(workflowIds.map((id) => [id, []]));
    if (workflowIds.length === 0) return byWorkflow;
    const rows = await this.db.query(
      `SELECT ${STEP_COLUMNS} FROM {schema}.operation_outputs WHERE workflow_id = ANY($1::text[]) ORDER BY workflow_id, step_id`,
      [workflowIds],
    );
    for (const row of await readStepRows(this.db.payloads, rows.map(toStepRow))) byWorkflow.get(row.workflowId)?.push(row);
    return byWorkflow;
  }

  /** Every checkpoint of a workflow, in one read: what a replay needs. */
  loadAll(workflowId: string): Promise<OperationOutputRow[]> {
    return loadSteps(this.db, workflowId, this.db.payloads);
  }
}

/** Every checkpoint of a workflow, in step order, read through `sql` (the primary, or the read replica for display). */
export async function loadSteps(sql: Sql, workflowId: string, payloads: PayloadCodec): Promise<OperationOutputRow[]> {
  const rows = await sql.query(`SELECT ${STEP_COLUMNS} FROM {schema}.operation_outputs WHERE workflow_id = $1 ORDER BY step_id`, [workflowId]);
  return readStepRows(payloads, rows.map(toStepRow));
}

function insertOneValues(row: OperationOutputRow, epoch: number): unknown[] {
  return [row.workflowId, row.stepId, row.stepName, row.output, row.error, row.childWorkflowId, row.startedAt, row.completedAt, epoch];
}
