import type { OperationOutputRow, WorkflowStatusRow } from './system.rows';
import type { ListingRepository } from './listing.repository';
import { STEP_COLUMNS } from './row.mapping';
import { ownedBy, whilePending, type Sql } from './sql';
import { storedStepRow } from './payload.rows';
import type { SystemDatabase } from './system.database';
import { rowSource } from './row-source.util';
import { notificationChannel } from './schema-name.util';
import { WriteBatcher } from './write.batcher';
import { NOTICE_PREFIX } from './system.names';
import type { TableStatistics } from './table-statistics';

export type NewWorkflowRow = Omit<WorkflowStatusRow, 'output' | 'error' | 'recoveryAttempts' | 'runEpoch'>;

export type InsertWorkflowResult = { inserted: true } | { inserted: false; existing: WorkflowStatusRow | null };

export interface WorkflowOutcome {
  workflowId: string;
  status: 'SUCCESS' | 'ERROR';
  output: string | null;
  error: string | null;
  /** The run recording it: the outcome is written only while that run still owns the workflow. */
  epoch: number;
  /** The checkpoint of the step the body returned after, written in the same statement (see StepRunner.takeDeferred). */
  lastCheckpoint?: OperationOutputRow;
}

export type CompleteResult = 'completed' | 'not-pending' | 'checkpoint-not-recorded';

const INSERT_ARRAY_TYPES = [
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'int',
  'text',
  'text',
  'bigint',
  'bigint',
  'bigint',
  'text',
  'text',
  'bigint',
  'bigint',
  'bigint',
  'text',
  'jsonb',
];

/** The tail of a SELECT that reads the CTE `notice` (so its messages are sent) and returns no row. */
const READ_NOTICE = 'FROM notice WHERE sent < 0';

/** A run's life in its status row: the insert that starts it, the outcome that ends it, the moves between. */
export class RunLifecycleRepository {
  private readonly inserts: WriteBatcher<NewWorkflowRow, InsertWorkflowResult>;
  private readonly outcomes: WriteBatcher<WorkflowOutcome, CompleteResult>;

  /**
   * A CTE `notice` announcing the SUCCESS and ERROR outcomes of the CTE `outcome` (workflow_id,
   * queue_name): their ids in `statuses:[...]` messages under Postgres' 8000-byte payload limit
   * (`watchedOnly`: only the rows whose `outcome_watched` the CTE returns true, the ones a process
   * not running them waits for, and the queued ones, whose queue's message is sent anyway: a NOTIFY
   * wakes every listening backend of the database), and one
   * `queue:<name>` per queue they free a slot of: one message per statement, not per row.
   * The statement must set `announced_epoch = run_epoch` on those rows, so the status triggers leave
   * them out (migration 1764028800032), and must read `notice` (an unread CTE is not run): see
   * READ_NOTICE.
   */
  private readonly notice: { all: string; watchedOnly: string };
  /** Told the ids of the outcomes each statement wrote (the process's own waiters: see onOutcomes). */
  private announce?: (workflowIds: string[]) => void;
  constructor(
    private readonly db: SystemDatabase,
    private readonly listing: ListingRepository,
    private readonly statistics?: TableStatistics,
  ) {
    this.inserts = new WriteBatcher((rows) => this.insertBatch(rows));
    this.outcomes = new WriteBatcher((rows) => this.completeBatch(rows));
    const notice = (watchedOnly: boolean) => `notice AS (
         SELECT count(pg_notify('${notificationChannel(db.schema)}', payload)) AS sent FROM (
           SELECT '${NOTICE_PREFIX.statuses}' || json_agg(workflow_id)::text AS payload
             FROM (SELECT workflow_id, sum(octet_length(to_json(workflow_id)::text) + 1) OVER (ORDER BY workflow_id) / 7000 AS part
                     FROM outcome${watchedOnly ? ' WHERE outcome_watched OR queue_name IS NOT NULL' : ''}) ids
            GROUP BY part
           UNION ALL
           SELECT DISTINCT '${NOTICE_PREFIX.queue}' || queue_name FROM outcome WHERE queue_name IS NOT NULL
         ) messages
       )`;
    this.notice = { all: notice(false), watchedOnly: notice(true) };
  }

  /**
   * `announce` is called with the ids of the outcomes each `complete` statement wrote, after it
   * returned: the process's own waiters learn of them there (NotificationListener.announce), since
   * the statement announces on the channel only the outcomes another process marked watched.
   */
  onOutcomes(announce: (workflowIds: string[]) => void): void {
    this.announce = announce;
  }

  /** Inserts a workflow; when its id exists (or its deduplication id is taken) returns what is there. */
  insert(row: NewWorkflowRow): Promise<InsertWorkflowResult> {
    return this.inserts.add(row);
  }

  /**
   * `insert` inside a transaction of the caller (`tx`: the app's, through its ORM), never batched
   * with other starts: the row commits or rolls back with that transaction. What is there already
   * is read through it too, so a second start of the id in the same transaction finds the first.
   */
  insertIn(tx: Sql, row: NewWorkflowRow): Promise<InsertWorkflowResult> {
    return this.insertBatch([row], tx).then(([result]) => result);
  }

  /**
   * Records a workflow's result (with its last step's checkpoint, when given). 'not-pending' when
   * it was no longer PENDING under that run (cancelled, finished, resumed elsewhere);
   * 'checkpoint-not-recorded' when the checkpoint was not written (fenced, or its position taken),
   * and so neither was the outcome.
   */
  complete(outcome: WorkflowOutcome): Promise<CompleteResult> {
    return this.outcomes.add(outcome);
  }

  private async insertBatch(rows: NewWorkflowRow[], db: Sql = this.db): Promise<InsertWorkflowResult[]> {
    const columns: unknown[][] = INSERT_ARRAY_TYPES.map(() => []);
    const inputs = await this.db.payloads.encodeAll(rows.map((r) => r.inputs));
    for (const [i, r] of rows.entries()) {
      const values = [
        r.workflowId,
        r.status,
        r.workflowName,
        r.className,
        inputs[i],
        r.executorId,
        r.applicationVersion,
        r.queueName,
        r.priority,
        r.deduplicationId,
        r.partitionKey,
        r.delayUntil,
        r.timeoutMs,
        r.deadline,
        r.parentWorkflowId,
        r.forkedFrom,
        r.startedAt,
        r.createdAt,
        r.updatedAt,
        r.traceContext,
        r.attributes === null ? null : JSON.stringify(r.attributes),
      ];
      values.forEach((v, i) => columns[i].push(v));
    }
    const source = rowSource(INSERT_ARRAY_TYPES, columns, 'r');
    const inserted = await db.query<{ workflow_id: string }>(
      `INSERT INTO {schema}.workflow_status (workflow_id, status, workflow_name, class_name, inputs,
         executor_id, application_version, queue_name, priority, deduplication_id, partition_key, delay_until,
         timeout_ms, deadline, parent_workflow_id, forked_from, started_at, created_at, updated_at, trace_context, attributes)
       SELECT * FROM ${source.from}
       ON CONFLICT DO NOTHING
       RETURNING workflow_id`,
      source.values,
    );
    this.statistics?.noteWritten(inserted.length);
    // Each inserted id is claimed by its first row in the batch; a repeat of it in the same batch lost.
    const unclaimed = new Set(inserted.map((r) => r.workflow_id));
    const wins = rows.map((r) => unclaimed.delete(r.workflowId));
    const conflicting = rows.filter((_, i) => !wins[i]).map((r) => r.workflowId);
    const existing = conflicting.length > 0 ? await this.listing.getMany(conflicting, db) : new Map<string, WorkflowStatusRow>();
    return rows.map((r, i) => (wins[i] ? { inserted: true } : { inserted: false, existing: existing.get(r.workflowId) ?? null }));
  }

  private async completeBatch(given: WorkflowOutcome[]): Promise<CompleteResult[]> {
    const outcomes = await Promise.all(given.map((o) => this.stored(o)));
    const step = (o: WorkflowOutcome) => o.lastCheckpoint;
    const source = rowSource(
      ['text', 'text', 'text', 'text', 'int', 'int', 'text', 'text', 'text', 'text', 'bigint', 'bigint'],
      [
        outcomes.map((o) => o.workflowId),
        outcomes.map((o) => o.status),
        outcomes.map((o) => o.output),
        outcomes.map((o) => o.error),
        outcomes.map((o) => o.epoch),
        outcomes.map((o) => step(o)?.stepId ?? null),
        outcomes.map((o) => step(o)?.stepName ?? null),
        outcomes.map((o) => step(o)?.output ?? null),
        outcomes.map((o) => step(o)?.error ?? null),
        outcomes.map((o) => step(o)?.childWorkflowId ?? null),
        outcomes.map((o) => step(o)?.startedAt ?? null),
        outcomes.map((o) => step(o)?.completedAt ?? null),
      ],
      `u(workflow_id, status, output, error, run_epoch, step_id, step_name, step_output, step_error, child_workflow_id, started_at, completed_at)`,
      2,
    );
    // One statement: the last checkpoints (fenced like any checkpoint), then the outcomes, each
    // only where its checkpoint (if it has one) was written by this statement.
    const rows = await this.db.query<{ workflow_id: string; completed: boolean }>(
      `WITH u AS (
         SELECT * FROM ${source.from}
       ), checkpoint AS (
         INSERT INTO {schema}.operation_outputs (${STEP_COLUMNS})
         SELECT u.workflow_id, u.step_id, u.step_name, u.step_output, u.step_error, u.child_workflow_id, u.started_at, u.completed_at
           FROM u
          WHERE u.step_id IS NOT NULL
            AND ${ownedBy('u.workflow_id', 'u.run_epoch')}
         ON CONFLICT (workflow_id, step_id) DO NOTHING
         RETURNING workflow_id
       ), outcome AS (
         UPDATE {schema}.workflow_status w
            SET status = u.status, output = u.output, error = u.error, updated_at = $1, deduplication_id = NULL,
                announced_epoch = w.run_epoch
           FROM u
          WHERE w.workflow_id = u.workflow_id AND ${whilePending('w', 'w.run_epoch = u.run_epoch')}
            AND (u.step_id IS NULL OR u.workflow_id IN (SELECT workflow_id FROM checkpoint))
         RETURNING w.workflow_id, w.queue_name, w.outcome_watched
       ), ${this.notice.watchedOnly}
       SELECT workflow_id, true AS completed FROM outcome
       UNION ALL
       SELECT workflow_id, false AS completed FROM checkpoint
       UNION ALL
       SELECT NULL, NULL ${READ_NOTICE}`,
      [Date.now(), ...source.values],
    );
    const completed = new Set(rows.filter((r) => r.completed).map((r) => r.workflow_id));
    if (completed.size > 0) this.announce?.([...completed]);
    const checkpointed = new Set(rows.filter((r) => !r.completed).map((r) => r.workflow_id));
    return outcomes.map((o) =>
      completed.has(o.workflowId) ? 'completed' : o.lastCheckpoint && !checkpointed.has(o.workflowId) ? 'checkpoint-not-recorded' : 'not-pending',
    );
  }

  /** The outcome with its payloads (and its last checkpoint's) in their stored form. */
  private async stored(outcome: WorkflowOutcome): Promise<WorkflowOutcome> {
    const codec = this.db.payloads;
    if (codec.isPlain) return outcome;
    const [output, error, lastCheckpoint] = await Promise.all([
      codec.encode(outcome.output),
      codec.encode(outcome.error, 'error'),
      outcome.lastCheckpoint && storedStepRow(codec, outcome.lastCheckpoint),
    ]);
    return { ...outcome, output, error, lastCheckpoint };
  }

  /** Moves a workflow from one of `from` to `to`; false when it was in none of them. */
  async transition(workflowId: string, from: string[], to: string, given: string | null = null): Promise<boolean> {
    const error = await this.db.payloads.encode(given, 'error');
    const rows = await this.db.query(
      `WITH moved AS (
         UPDATE {schema}.workflow_status
            SET status = $3, error = COALESCE($4, error), updated_at = $5,
                deduplication_id = CASE WHEN $3 IN ('ENQUEUED', 'PENDING') THEN deduplication_id END,
                announced_epoch = CASE WHEN $3 IN ('SUCCESS', 'ERROR') THEN run_epoch ELSE announced_epoch END
          WHERE workflow_id = $1 AND status = ANY($2::text[])
         RETURNING workflow_id, queue_name, status
       ), outcome AS (
         SELECT workflow_id, queue_name FROM moved WHERE status IN ('SUCCESS', 'ERROR')
       ), ${this.notice.all}
       SELECT workflow_id FROM moved
       UNION ALL
       SELECT NULL ${READ_NOTICE}`,
      [workflowId, from, to, error, Date.now()],
    );
    return rows.length > 0;
  }
}
