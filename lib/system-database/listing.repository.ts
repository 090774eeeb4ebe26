import type { ListWorkflowsOptions } from '../interfaces/workflow-status.interface';
import { decodeListCursor, listOrderOf } from './list.cursor';
import { STATUS_COLUMNS, STATUS_COLUMNS_WITHOUT_PAYLOADS, toStatusRow } from './row.mapping';
import { isLockNotAvailable, type Sql } from './sql';
import { readStatusRow, readStatusRows } from './payload.rows';
import type { PayloadCodec } from '../payloads/payload.codec';
import type { WorkflowStatusRow } from './system.rows';
import { delay } from '../common/delay.util';

/** Tries of watchOutcomes (1, 2, 4 ... 50 ms apart: about 200 ms in all). */
const MARK_ATTEMPTS = 8;

const FINISHED = `status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')`;
const STATUS_COLUMNS_OF_FINISHED = STATUS_COLUMNS.replace(
  'inputs, output, error,',
  `NULL AS inputs, CASE WHEN ${FINISHED} THEN output END AS output, CASE WHEN ${FINISHED} THEN error END AS error,`,
);

/** Reads of workflow status rows: by id, by ids, and the filtered, paged list. */
export class ListingRepository {
  /** `payloads`: how the rows' payload columns are read (the database's codec; the dashboard's shows what it cannot read as `[encrypted]`). */
  constructor(
    private readonly db: Sql,
    private readonly payloads: PayloadCodec,
  ) {}

  async get(workflowId: string): Promise<WorkflowStatusRow | null> {
    const rows = await this.db.query(`SELECT ${STATUS_COLUMNS} FROM {schema}.workflow_status WHERE workflow_id = $1`, [workflowId]);
    return readStatusRow(this.payloads, rows.length > 0 ? toStatusRow(rows[0]) : null);
  }

  /**
   * Asks that these workflows' SUCCESS or ERROR be announced on the notification channel: the
   * statement writing an outcome announces only the rows so marked, and every queued one
   * (migration 1764028800040). A waiter in a process that does not run the workflow marks it after
   * it registered with the listener and before it reads the status again: an outcome committed
   * before the mark is in that read, and one written after the mark is announced (the row's lock
   * orders the two).
   *
   * Only PENDING rows off any queue, once each: a queued row is announced anyway (its outcome's
   * statement notifies its queue), so the mark never locks an ENQUEUED row a dispatcher's claim
   * (SKIP LOCKED) would then pass over. The rows are locked NOWAIT, so the mark never waits inside
   * a lock cycle with a batch of outcomes (which lock their rows in their own order): when one is
   * held it tries again a moment later. False when it could not mark (a row held for 200 ms, a role
   * without UPDATE on the table, a read-only server): that waiter hears the outcome at its re-check.
   */
  async watchOutcomes(workflowIds: string[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.db.query(
          `UPDATE {schema}.workflow_status w SET outcome_watched = true
             FROM (SELECT workflow_id FROM {schema}.workflow_status
                    WHERE workflow_id = ANY($1::text[]) AND status = 'PENDING' AND queue_name IS NULL AND outcome_watched IS NOT TRUE
                    FOR NO KEY UPDATE NOWAIT) marked
            WHERE w.workflow_id = marked.workflow_id`,
          [workflowIds],
        );
        return true;
      } catch (err) {
        if (!isLockNotAvailable(err) || attempt >= MARK_ATTEMPTS) return false;
        await delay(Math.min(2 ** attempt, 50));
      }
    }
  }

  /** The rows of these ids; `on`: a transaction of the caller to read them in (default the pool). */
  async getMany(workflowIds: string[], on: Sql = this.db): Promise<Map<string, WorkflowStatusRow>> {
    const rows = await on.query(`SELECT ${STATUS_COLUMNS} FROM {schema}.workflow_status WHERE workflow_id = ANY($1::text[])`, [workflowIds]);
    const read = await readStatusRows(this.payloads, rows.map(toStatusRow));
    return new Map(read.map((row) => [row.workflowId, row]));
  }

  /**
   * The rows of `workflowIds`, with the output and error of the finished ones only (a fan-out's
   * wait reads the rows of a set of workflows in one statement per wake, no payload of the rest).
   */
  async getFinishing(workflowIds: string[]): Promise<WorkflowStatusRow[]> {
    const rows = await this.db.query(`SELECT ${STATUS_COLUMNS_OF_FINISHED} FROM {schema}.workflow_status WHERE workflow_id = ANY($1::text[])`, [workflowIds]);
    return readStatusRows(this.payloads, rows.map(toStatusRow));
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
    const attributes = options.attributes && Object.keys(options.attributes).length > 0 ? JSON.stringify(options.attributes) : null;
    if (attributes !== null) where.push(`attributes @> ${param(attributes)}::jsonb`);
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
    const select = (status: string) => `SELECT ${columns} FROM {schema}.workflow_status WHERE ${[status, ...where].join(' AND ')}`;
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
    return readStatusRows(this.payloads, (await this.db.unnamed(text, values)).map(toStatusRow));
  }
}
