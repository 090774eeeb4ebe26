import type { Queryable } from './queryable.interface';
import type { ListWorkflowsOptions } from '../interfaces/workflow-status.interface';
import type { OperationOutputRow, WorkflowStatusRow } from './system.rows';
import { STATUS_COLUMNS, STATUS_COLUMNS_WITHOUT_PAYLOADS, STEP_COLUMNS, statusColumnsOf, toStatusRow } from './row.mapping';
import type { SystemDatabase } from './system.database';
import { rowSource } from './row-source.util';
import { notificationChannel } from './schema-name.util';
import { WriteBatcher } from './write.batcher';
import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';

export type NewWorkflowRow = Omit<WorkflowStatusRow, 'output' | 'error' | 'recoveryAttempts' | 'runEpoch'>;

/** A workflow a cancel stopped, and the workflow given to the cancel that reached it (itself, for a root). */
export interface CancelledWorkflow {
  workflowId: string;
  workflowName: string;
  rootId: string;
}

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

/** Who runs a reopened workflow: this executor (when it has the code and version), else any, through a queue. */
export interface ReopenTarget {
  executorId: string;
  applicationVersion: string;
  /** Workflow names this executor can run now (empty while it shuts down). */
  runnableNames: string[];
  /** Queue for workflows that did not come from one and cannot run here. */
  fallbackQueue: string;
}

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
];

/** The column a list is ordered by: updated_at when only an updated-time range is given, else created_at. */
export type ListOrder = 'created' | 'updated';

export function listOrderOf(options: ListWorkflowsOptions): ListOrder {
  const updatedRange = options.updatedAfter !== undefined || options.updatedBefore !== undefined;
  const createdRange = options.createdAfter !== undefined || options.createdBefore !== undefined;
  return updatedRange && !createdRange ? 'updated' : 'created';
}

/** The opaque position after a row in list order: its time in that order (created or updated) and id, and the direction. */
export function encodeListCursor(row: { createdAt: number; updatedAt: number; workflowId: string }, sortDesc: boolean, order: ListOrder = 'created'): string {
  const position = order === 'updated' ? [row.updatedAt, row.workflowId, sortDesc ? 1 : 0, 'u'] : [row.createdAt, row.workflowId, sortDesc ? 1 : 0];
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function decodeListCursor(cursor: string, sortDesc: boolean, order: ListOrder): { at: number; workflowId: string } {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = null;
  }
  if (!Array.isArray(decoded) || typeof decoded[0] !== 'number' || typeof decoded[1] !== 'string') {
    throw new DbosInvalidArgumentError(`"${cursor}" is not a cursor returned by listPage().`);
  }
  if ((decoded[2] === 1) !== sortDesc) throw new DbosInvalidArgumentError('A cursor must be used with the sortDesc of the page that returned it.');
  if ((decoded[3] === 'u' ? 'updated' : 'created') !== order) {
    throw new DbosInvalidArgumentError('A cursor must be used with the filters of the page that returned it (an updated-time range orders by update time).');
  }
  return { at: decoded[0], workflowId: decoded[1] };
}

/** The tail of a SELECT that reads the CTE `notice` (so its messages are sent) and returns no row. */
const READ_NOTICE = 'FROM notice WHERE sent < 0';

/** Workflow status rows: one per workflow, the source of truth for its state. */
export class WorkflowStatusRepository {
  private readonly inserts: WriteBatcher<NewWorkflowRow, InsertWorkflowResult>;
  private readonly outcomes: WriteBatcher<WorkflowOutcome, CompleteResult>;

  /**
   * A CTE `notice` announcing the SUCCESS and ERROR outcomes of the CTE `outcome` (workflow_id,
   * queue_name): their ids in `statuses:[...]` messages under Postgres' 8000-byte payload limit,
   * and one `queue:<name>` per queue they free a slot of: one message per statement, not per row.
   * The statement must set `announced_epoch = run_epoch` on those rows, so the status triggers leave
   * them out (migration 1764028800032), and must read `notice` (an unread CTE is not run): see
   * READ_NOTICE.
   */
  private readonly notice: string;

  constructor(private readonly db: SystemDatabase) {
    this.inserts = new WriteBatcher((rows) => this.insertBatch(rows));
    this.outcomes = new WriteBatcher((rows) => this.completeBatch(rows));
    this.notice = `notice AS (
         SELECT count(pg_notify('${notificationChannel(db.schema)}', payload)) AS sent FROM (
           SELECT 'statuses:' || json_agg(workflow_id)::text AS payload
             FROM (SELECT workflow_id, sum(octet_length(to_json(workflow_id)::text) + 1) OVER (ORDER BY workflow_id) / 7000 AS part
                     FROM outcome) ids
            GROUP BY part
           UNION ALL
           SELECT DISTINCT 'queue:' || queue_name FROM outcome WHERE queue_name IS NOT NULL
         ) messages
       )`;
  }

  /** Inserts a workflow; when its id exists (or its deduplication id is taken) returns what is there. */
  insert(row: NewWorkflowRow): Promise<InsertWorkflowResult> {
    return this.inserts.add(row);
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

  private async insertBatch(rows: NewWorkflowRow[]): Promise<InsertWorkflowResult[]> {
    const columns: unknown[][] = INSERT_ARRAY_TYPES.map(() => []);
    for (const r of rows) {
      const values = [
        r.workflowId,
        r.status,
        r.workflowName,
        r.className,
        r.inputs,
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
      ];
      values.forEach((v, i) => columns[i].push(v));
    }
    const source = rowSource(INSERT_ARRAY_TYPES, columns, 'r');
    const inserted = await this.db.query<{ workflow_id: string }>(
      `INSERT INTO ${this.db.s}.workflow_status (workflow_id, status, workflow_name, class_name, inputs,
         executor_id, application_version, queue_name, priority, deduplication_id, partition_key, delay_until,
         timeout_ms, deadline, parent_workflow_id, forked_from, started_at, created_at, updated_at)
       SELECT * FROM ${source.from}
       ON CONFLICT DO NOTHING
       RETURNING workflow_id`,
      source.values,
    );
    // Each inserted id is claimed by its first row in the batch; a repeat of it in the same batch lost.
    const unclaimed = new Set(inserted.map((r) => r.workflow_id));
    const wins = rows.map((r) => unclaimed.delete(r.workflowId));
    const conflicting = rows.filter((_, i) => !wins[i]).map((r) => r.workflowId);
    const existing = conflicting.length > 0 ? await this.getMany(conflicting) : new Map<string, WorkflowStatusRow>();
    return rows.map((r, i) => (wins[i] ? { inserted: true } : { inserted: false, existing: existing.get(r.workflowId) ?? null }));
  }

  private async completeBatch(outcomes: WorkflowOutcome[]): Promise<CompleteResult[]> {
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
         INSERT INTO ${this.db.s}.operation_outputs (${STEP_COLUMNS})
         SELECT u.workflow_id, u.step_id, u.step_name, u.step_output, u.step_error, u.child_workflow_id, u.started_at, u.completed_at
           FROM u
          WHERE u.step_id IS NOT NULL
            AND EXISTS (SELECT 1 FROM ${this.db.s}.workflow_status w
                         WHERE w.workflow_id = u.workflow_id AND w.status = 'PENDING' AND w.run_epoch = u.run_epoch)
         ON CONFLICT (workflow_id, step_id) DO NOTHING
         RETURNING workflow_id
       ), outcome AS (
         UPDATE ${this.db.s}.workflow_status w
            SET status = u.status, output = u.output, error = u.error, updated_at = $1, deduplication_id = NULL,
                announced_epoch = w.run_epoch
           FROM u
          WHERE w.workflow_id = u.workflow_id AND w.status = 'PENDING' AND w.run_epoch = u.run_epoch
            AND (u.step_id IS NULL OR u.workflow_id IN (SELECT workflow_id FROM checkpoint))
         RETURNING w.workflow_id, w.queue_name
       ), ${this.notice}
       SELECT workflow_id, true AS completed FROM outcome
       UNION ALL
       SELECT workflow_id, false AS completed FROM checkpoint
       UNION ALL
       SELECT NULL, NULL ${READ_NOTICE}`,
      [Date.now(), ...source.values],
    );
    const completed = new Set(rows.filter((r) => r.completed).map((r) => r.workflow_id));
    const checkpointed = new Set(rows.filter((r) => !r.completed).map((r) => r.workflow_id));
    return outcomes.map((o) =>
      completed.has(o.workflowId) ? 'completed' : o.lastCheckpoint && !checkpointed.has(o.workflowId) ? 'checkpoint-not-recorded' : 'not-pending',
    );
  }

  async get(workflowId: string): Promise<WorkflowStatusRow | null> {
    const rows = await this.db.query(`SELECT ${STATUS_COLUMNS} FROM ${this.db.s}.workflow_status WHERE workflow_id = $1`, [workflowId]);
    return rows.length > 0 ? toStatusRow(rows[0]) : null;
  }

  async getMany(workflowIds: string[]): Promise<Map<string, WorkflowStatusRow>> {
    const rows = await this.db.query(`SELECT ${STATUS_COLUMNS} FROM ${this.db.s}.workflow_status WHERE workflow_id = ANY($1::text[])`, [workflowIds]);
    return new Map(rows.map((raw) => [String(raw.workflow_id), toStatusRow(raw)]));
  }

  /** This executor's PENDING workflows of this version: what a restart must resume. */
  async findPending(executorId: string, applicationVersion: string): Promise<WorkflowStatusRow[]> {
    const rows = await this.db.query(
      `SELECT ${STATUS_COLUMNS} FROM ${this.db.s}.workflow_status
        WHERE status = 'PENDING' AND executor_id = $1 AND application_version = $2
        ORDER BY created_at`,
      [executorId, applicationVersion],
    );
    return rows.map(toStatusRow);
  }

  /** Ids of this executor's PENDING workflows of this version whose row has not changed for `untouchedForMs`. */
  async findPendingIds(executorId: string, applicationVersion: string, untouchedForMs: number): Promise<string[]> {
    const rows = await this.db.query<{ workflow_id: string }>(
      `SELECT workflow_id FROM ${this.db.s}.workflow_status
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
   * Null when it is no longer PENDING there (finished, cancelled or taken meanwhile).
   */
  async claimForRecovery(workflowId: string, executorId: string, expectedEpoch: number): Promise<WorkflowStatusRow | null> {
    const rows = await this.db.query(
      `UPDATE ${this.db.s}.workflow_status
          SET recovery_attempts = recovery_attempts + 1, run_epoch = run_epoch + 1, updated_at = $3,
              status = CASE WHEN queue_name IS NULL THEN 'PENDING' ELSE 'ENQUEUED' END,
              executor_id = CASE WHEN queue_name IS NULL THEN executor_id END
        WHERE workflow_id = $1 AND status = 'PENDING' AND executor_id = $2 AND run_epoch = $4
       RETURNING ${STATUS_COLUMNS}`,
      [workflowId, executorId, Date.now(), expectedEpoch],
    );
    return rows.length > 0 ? toStatusRow(rows[0]) : null;
  }

  /**
   * claimForRecovery for a batch, in one statement: the next `limit` PENDING workflows of this
   * executor and version (of these names, none of `exclude`) last touched before `touchedBefore`
   * (an earlier life of this executor: never a workflow this process started or resumed since),
   * after `after` in (created_at, workflow_id) order, each counted as one more recovery and handed
   * a new run (epoch); queued ones go back to their queue. Rows another transaction holds are
   * skipped (it is handling them; the sweep looks again). The rows, with their inputs, in that order.
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
    const s = this.db.s;
    const rows = await this.db.query(
      `WITH picked AS (
         SELECT workflow_id FROM ${s}.workflow_status
          WHERE status = 'PENDING' AND executor_id = $1 AND application_version = $2 AND workflow_name = ANY($3::text[])
            AND ($4::bigint IS NULL OR (created_at, workflow_id) > ($4::bigint, $5::text))
            AND NOT (workflow_id = ANY($6::text[])) AND updated_at < $9
          ORDER BY created_at, workflow_id
          LIMIT $7
          FOR UPDATE SKIP LOCKED
       )
       UPDATE ${s}.workflow_status w
          SET recovery_attempts = w.recovery_attempts + 1, run_epoch = w.run_epoch + 1, updated_at = $8,
              status = CASE WHEN w.queue_name IS NULL THEN 'PENDING' ELSE 'ENQUEUED' END,
              executor_id = CASE WHEN w.queue_name IS NULL THEN w.executor_id END
         FROM picked p
        WHERE w.workflow_id = p.workflow_id
       RETURNING ${statusColumnsOf('w')}`,
      [executorId, applicationVersion, workflowNames, after?.createdAt ?? null, after?.workflowId ?? '', exclude, limit, Date.now(), touchedBefore],
    );
    return rows.map(toStatusRow).sort((a, b) => a.createdAt - b.createdAt || (a.workflowId < b.workflowId ? -1 : a.workflowId > b.workflowId ? 1 : 0));
  }

  /** This executor's PENDING workflows of this version whose names no registered workflow has, counted per name. */
  async countPendingUnknown(executorId: string, applicationVersion: string, workflowNames: string[]): Promise<{ workflowName: string; count: number }[]> {
    const rows = await this.db.query<{ workflow_name: string; n: number }>(
      `SELECT workflow_name, count(*)::int AS n FROM ${this.db.s}.workflow_status
        WHERE status = 'PENDING' AND executor_id = $1 AND application_version = $2 AND NOT (workflow_name = ANY($3::text[]))
        GROUP BY 1 ORDER BY 1`,
      [executorId, applicationVersion, workflowNames],
    );
    return rows.map((r) => ({ workflowName: r.workflow_name, count: r.n }));
  }

  /**
   * Of these runs (workflow and epoch), those that no longer own their workflow: it was cancelled
   * or finished, or another run has it now (resumed, adopted). No payloads are read.
   */
  async lostRuns(
    runs: { workflowId: string; epoch: number }[],
    executorId: string,
  ): Promise<{ workflowId: string; status: string; error: string | null; cancelRoot: string | null }[]> {
    if (runs.length === 0) return [];
    const rows = await this.db.query<{ workflow_id: string; status: string; error: string | null; cancel_root: string | null }>(
      `SELECT w.workflow_id, w.status, w.error, w.cancel_root
         FROM unnest($1::text[], $2::int[]) AS r(workflow_id, run_epoch)
         JOIN ${this.db.s}.workflow_status w ON w.workflow_id = r.workflow_id
        WHERE NOT (w.status = 'PENDING' AND w.executor_id = $3 AND w.run_epoch = r.run_epoch)`,
      [runs.map((r) => r.workflowId), runs.map((r) => r.epoch), executorId],
    );
    return rows.map((r) => ({ workflowId: r.workflow_id, status: r.status, error: r.error, cancelRoot: r.cancel_root }));
  }

  /** Ownership as the database sees it now: whether the run of `epoch` on `executorId` still owns the workflow. */
  async isOwnedBy(workflowId: string, executorId: string, epoch: number): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT 1 FROM ${this.db.s}.workflow_status WHERE workflow_id = $1 AND status = 'PENDING' AND executor_id = $2 AND run_epoch = $3`,
      [workflowId, executorId, epoch],
    );
    return rows.length > 0;
  }

  /** Moves a workflow from one of `from` to `to`; false when it was in none of them. */
  async transition(workflowId: string, from: string[], to: string, error: string | null = null): Promise<boolean> {
    const rows = await this.db.query(
      `WITH moved AS (
         UPDATE ${this.db.s}.workflow_status
            SET status = $3, error = COALESCE($4, error), updated_at = $5,
                deduplication_id = CASE WHEN $3 IN ('ENQUEUED', 'PENDING') THEN deduplication_id END,
                announced_epoch = CASE WHEN $3 IN ('SUCCESS', 'ERROR') THEN run_epoch ELSE announced_epoch END
          WHERE workflow_id = $1 AND status = ANY($2::text[])
         RETURNING workflow_id, queue_name, status
       ), outcome AS (
         SELECT workflow_id, queue_name FROM moved WHERE status IN ('SUCCESS', 'ERROR')
       ), ${this.notice}
       SELECT workflow_id FROM moved
       UNION ALL
       SELECT NULL ${READ_NOTICE}`,
      [workflowId, from, to, error, Date.now()],
    );
    return rows.length > 0;
  }

  /**
   * Cancels each workflow of `rootIds` and its unfinished descendants, in one statement (a queue
   * cannot start one of them between the others). Each descendant records the root whose cancel
   * stopped it (`cancel_root`), so resuming that root brings it back. Returns what it cancelled.
   */
  async cancelTrees(client: Queryable, rootIds: string[], error: string | null): Promise<CancelledWorkflow[]> {
    const { rows } = await client.query<{ workflow_id: string; workflow_name: string; root: string }>(
      `WITH RECURSIVE tree AS (
         SELECT workflow_id, workflow_id AS root FROM ${this.db.s}.workflow_status WHERE workflow_id = ANY($1::text[])
         UNION
         SELECT c.workflow_id, t.root FROM ${this.db.s}.workflow_status c JOIN tree t ON c.parent_workflow_id = t.workflow_id
       ), target AS (
         -- A root that is also a descendant of another root given is its own root.
         SELECT DISTINCT ON (workflow_id) workflow_id, root FROM tree ORDER BY workflow_id, (workflow_id = root) DESC, root
       )
       UPDATE ${this.db.s}.workflow_status w
          SET status = 'CANCELLED', error = $2, updated_at = $3, deduplication_id = NULL,
              cancel_root = CASE WHEN w.workflow_id = t.root THEN NULL ELSE t.root END
         FROM target t
        WHERE w.workflow_id = t.workflow_id AND w.status IN ('PENDING', 'ENQUEUED')
       RETURNING w.workflow_id, w.workflow_name, t.root`,
      [rootIds, error, Date.now()],
    );
    return rows.map((r) => ({ workflowId: r.workflow_id, workflowName: r.workflow_name, rootId: r.root }));
  }

  /** Locks the status rows of these ids (in id order, so concurrent bulk operations cannot deadlock); returns the ids that exist. */
  async lockExisting(client: Queryable, workflowIds: string[]): Promise<Set<string>> {
    const { rows } = await client.query<{ workflow_id: string }>(
      `SELECT workflow_id FROM ${this.db.s}.workflow_status WHERE workflow_id = ANY($1::text[]) ORDER BY workflow_id FOR UPDATE`,
      [workflowIds],
    );
    return new Set(rows.map((r) => r.workflow_id));
  }

  /** Cancels one workflow and its unfinished descendants (a timeout); see cancelTrees. */
  cancelTree(workflowId: string, error: string | null): Promise<CancelledWorkflow[]> {
    return this.cancelTrees(this.db.queryable, [workflowId], error);
  }

  /**
   * Makes a finished-unsuccessfully workflow runnable again, with the descendants that its own
   * cancel stopped (`cancel_root`), so a resumed parent finds its children running again. Each
   * gets a new epoch (fencing off an old run still unwinding anywhere). Where it runs: a workflow
   * that came from a queue goes back to it (ENQUEUED: the queue's limits and partition hold);
   * others run on `target.executorId` when it has their code and version, else wait on the
   * fallback queue for an executor that has. Deadlines are dropped and recovery counts reset.
   * The rows reopened, the workflow first; empty when it was not CANCELLED/ERROR/MAX_RECOVERY
   * (or, with `applicationVersion`, PENDING/ENQUEUED on another version).
   */
  async reopen(client: Queryable, workflowId: string, target: ReopenTarget, applicationVersion: string | null): Promise<WorkflowStatusRow[]> {
    const s = this.db.s;
    const { rows } = await client.query(
      `WITH RECURSIVE root AS (
         SELECT workflow_id FROM ${s}.workflow_status
          WHERE workflow_id = $1
            AND (status IN ('CANCELLED', 'ERROR', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')
                 OR ($2::text IS NOT NULL AND status IN ('PENDING', 'ENQUEUED') AND application_version IS DISTINCT FROM $2::text))
          FOR UPDATE
       ), tree AS (
         SELECT workflow_id FROM root
         UNION
         SELECT c.workflow_id FROM ${s}.workflow_status c JOIN tree t ON c.parent_workflow_id = t.workflow_id
       ), placed AS (
         SELECT w.workflow_id,
                CASE WHEN w.queue_name IS NOT NULL AND w.queue_name <> $6 THEN 'queue'
                     WHEN w.workflow_name = ANY($5::text[]) AND COALESCE($2::text, w.application_version) = $4 THEN 'here'
                     ELSE 'fallback' END AS place
           FROM ${s}.workflow_status w JOIN tree t ON t.workflow_id = w.workflow_id
          WHERE w.workflow_id = $1 OR (w.status = 'CANCELLED' AND w.cancel_root = $1)
       )
       UPDATE ${s}.workflow_status w
          SET status = CASE WHEN p.place = 'here' THEN 'PENDING' ELSE 'ENQUEUED' END,
              executor_id = CASE WHEN p.place = 'here' THEN $3 END,
              queue_name = CASE WHEN p.place = 'fallback' THEN $6 ELSE w.queue_name END,
              application_version = COALESCE($2::text, w.application_version), recovery_attempts = 0, error = NULL,
              output = NULL, deadline = NULL, timeout_ms = NULL, cancel_root = NULL, run_epoch = w.run_epoch + 1,
              started_at = CASE WHEN p.place = 'here' THEN $7::bigint END, updated_at = $7
         FROM placed p
        -- Checked again on the locked row: a descendant resumed or finished meanwhile is left as it is.
        WHERE w.workflow_id = p.workflow_id AND (w.workflow_id = $1 OR (w.status = 'CANCELLED' AND w.cancel_root = $1))
       RETURNING ${statusColumnsOf('w')}`,
      [workflowId, applicationVersion, target.executorId, target.applicationVersion, target.runnableNames, target.fallbackQueue, Date.now()],
    );
    const reopened = rows.map(toStatusRow);
    return reopened.sort((a, b) => (a.workflowId === workflowId ? -1 : b.workflowId === workflowId ? 1 : 0));
  }

  /** Inserts the fork of `fromId` as `toId` on a transaction's client; false when `fromId` does not exist. */
  async insertFork(
    client: Queryable,
    fromId: string,
    toId: string,
    target: { status: 'PENDING' | 'ENQUEUED'; executorId: string | null; queueName: string | null; applicationVersion: string | null },
  ): Promise<boolean> {
    const now = Date.now();
    // The fork keeps its source's place in line: priority and partition.
    const result = await client.query(
      `INSERT INTO ${this.db.s}.workflow_status (workflow_id, status, workflow_name, class_name, inputs, executor_id,
         application_version, queue_name, priority, partition_key, forked_from, started_at, created_at, updated_at)
       SELECT $2, $3, workflow_name, class_name, inputs, $4, COALESCE($5, application_version), $6, priority, partition_key, $1,
              CASE WHEN $3 = 'PENDING' THEN $7::bigint END, $7, $7
         FROM ${this.db.s}.workflow_status WHERE workflow_id = $1`,
      [fromId, toId, target.status, target.executorId, target.applicationVersion, target.queueName, now],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** PENDING and ENQUEUED workflows per application version other than `version`. */
  async countOtherVersions(version: string): Promise<{ applicationVersion: string | null; status: string; count: number }[]> {
    const rows = await this.db.query<{ application_version: string | null; status: string; n: number }>(
      `SELECT application_version, status, count(*)::int AS n FROM ${this.db.s}.workflow_status
        WHERE status IN ('PENDING', 'ENQUEUED') AND application_version IS DISTINCT FROM $1 AND application_version IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [version],
    );
    return rows.map((r) => ({ applicationVersion: r.application_version, status: r.status, count: r.n }));
  }

  /**
   * Workflows matching every given filter, oldest first (or newest with `sortDesc`): by creation,
   * or by last update when an updated-time range is given without a created-time one. Without
   * payloads, inputs, output and error are not read at all.
   */
  async list(options: ListWorkflowsOptions): Promise<WorkflowStatusRow[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    const equals = (column: string, value: string | undefined) => {
      if (value) where.push(`${column} = ${param(value)}`);
    };
    equals('workflow_name', options.workflowName);
    equals('queue_name', options.queue);
    equals('executor_id', options.executorId);
    equals('application_version', options.applicationVersion);
    equals('parent_workflow_id', options.parentWorkflowId);
    equals('forked_from', options.forkedFrom);
    if (options.createdAfter) where.push(`created_at >= ${param(options.createdAfter.getTime())}`);
    if (options.createdBefore) where.push(`created_at < ${param(options.createdBefore.getTime())}`);
    if (options.updatedAfter) where.push(`updated_at >= ${param(options.updatedAfter.getTime())}`);
    if (options.updatedBefore) where.push(`updated_at < ${param(options.updatedBefore.getTime())}`);
    if (options.workflowIdPrefix) {
      where.push(`workflow_id LIKE ${param(`${options.workflowIdPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)} ESCAPE '\\'`);
    }
    // An updated-time range alone is served in updated_at order, on its index: ordered by
    // created_at, a page of it would read (and sort) every row of the range.
    const key = listOrderOf(options) === 'updated' ? 'updated_at' : 'created_at';
    if (options.cursor !== undefined) {
      const after = decodeListCursor(options.cursor, options.sortDesc === true, key === 'updated_at' ? 'updated' : 'created');
      // The row comparison follows the list order, so the page starts right after the cursor's row.
      where.push(`(${key}, workflow_id) ${options.sortDesc ? '<' : '>'} (${param(after.at)}::bigint, ${param(after.workflowId)}::text)`);
    }
    const direction = options.sortDesc ? 'DESC' : 'ASC';
    const columns = options.loadPayloads === false ? STATUS_COLUMNS_WITHOUT_PAYLOADS : STATUS_COLUMNS;
    const order = `ORDER BY ${key} ${direction}, workflow_id ${direction}`;
    // The list indexes leave PENDING rows out (a direct workflow is PENDING from its insert to its
    // completion, so it adds entries to them once, at completion, not twice); the PENDING rows,
    // the running workflows, are read on their own through workflow_status_pending_created_idx.
    const statuses = options.status === undefined ? null : ([] as string[]).concat(options.status);
    const branches: string[] = [];
    const others = statuses?.filter((s) => s !== 'PENDING');
    if (others === undefined) branches.push(`status <> 'PENDING'`);
    else if (others.length > 0) branches.push(`status = ANY(${param(others)}::text[]) AND status <> 'PENDING'`);
    if (statuses === null || statuses.includes('PENDING')) branches.push(`status = 'PENDING'`);
    if (branches.length === 0) return [];
    const select = (status: string) => `SELECT ${columns} FROM ${this.db.s}.workflow_status WHERE ${[status, ...where].join(' AND ')}`;
    let text: string;
    if (branches.length === 1) {
      text = `${select(branches[0])} ${order}`;
    } else {
      // Each branch stops at the rows the page can use; the merge orders them.
      const enough = options.limit !== undefined ? ` LIMIT ${param(options.limit + (options.offset ?? 0))}` : '';
      text = `SELECT * FROM ((${select(branches[0])} ${order}${enough}) UNION ALL (${select(branches[1])} ${order}${enough})) listed ${order}`;
    }
    if (options.limit !== undefined) text += ` LIMIT ${param(options.limit)}`;
    if (options.offset !== undefined) text += ` OFFSET ${param(options.offset)}`;
    // Unnamed: each combination of filters is its own statement text, not worth preparing on every connection.
    return (await this.db.queryable.query(text, values)).rows.map(toStatusRow);
  }
}
