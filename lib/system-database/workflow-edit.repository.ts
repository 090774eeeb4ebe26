import { realClock, type WorkflowClock } from '../common/clock';
import { DbosConflictError } from '../errors/conflict.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import { notificationChannel } from './schema-name.util';
import type { Sql } from './sql';
import { NOTICE_PREFIX } from './system.names';
import type { SystemDatabase } from './system.database';

/**
 * The CTEs that delete the workflows of a CTE `doomed` (its `workflow_id`) with every row they
 * own: checkpoints, events and their history, streams, the messages sent to them and their
 * idempotency keys. `deleted` returns the ids of the status rows deleted. One statement for
 * retention (AdminRepository.deleteFinishedBefore) and for a delete by id.
 */
export const DELETE_DOOMED = `steps AS (
           DELETE FROM {schema}.operation_outputs o USING doomed d WHERE o.workflow_id = d.workflow_id
         ), events AS (
           DELETE FROM {schema}.workflow_events e USING doomed d WHERE e.workflow_id = d.workflow_id
         ), history AS (
           DELETE FROM {schema}.workflow_events_history h USING doomed d WHERE h.workflow_id = d.workflow_id
         ), streams AS (
           DELETE FROM {schema}.streams x USING doomed d WHERE x.workflow_id = d.workflow_id
         ), messages AS (
           DELETE FROM {schema}.notifications m USING doomed d WHERE m.destination_id = d.workflow_id
         ), message_keys AS (
           DELETE FROM {schema}.message_keys k USING doomed d WHERE k.destination_id = d.workflow_id
         ), deleted AS (
           DELETE FROM {schema}.workflow_status w USING doomed d WHERE w.workflow_id = d.workflow_id RETURNING w.workflow_id
         )`;

const UNFINISHED = new Set(['PENDING', 'ENQUEUED']);

export interface DeleteWorkflowOptions {
  /** Also delete its child workflows, and theirs. */
  children?: boolean;
  /** Delete it whatever its status (the caller cancels it first). */
  force?: boolean;
}

/**
 * What an operator changes on one workflow by id: its place on its queue while it waits there
 * (priority, delay), and its deletion with everything it owns.
 */
export class WorkflowEditRepository {
  constructor(
    private readonly db: SystemDatabase,
    /** A delay is workflow time, as the queue claim reads it. */
    private readonly clock: WorkflowClock = realClock,
  ) {}

  /** Sets the priority of an ENQUEUED workflow (lower runs first on a queue with `priorityEnabled`). */
  async setPriority(workflowId: string, priority: number): Promise<void> {
    const changed = await this.db.unnamed(
      `UPDATE {schema}.workflow_status SET priority = $2, updated_at = $3 WHERE workflow_id = $1 AND status = 'ENQUEUED' RETURNING 1`,
      [workflowId, priority, Date.now()],
    );
    if (changed.length === 0) await this.refuse(workflowId, 'its priority');
  }

  /**
   * Makes an ENQUEUED workflow wait `delayMs` from now (0: eligible at once) before its queue may
   * start it. The same statement wakes the queue's dispatchers (`queue:<name>`), which claim it
   * or re-arm their wait for the new time, earlier or later.
   */
  async setDelay(workflowId: string, delayMs: number): Promise<void> {
    const rows = await this.db.unnamed(
      `WITH changed AS (
         UPDATE {schema}.workflow_status SET delay_until = $2, updated_at = $3
          WHERE workflow_id = $1 AND status = 'ENQUEUED' RETURNING queue_name
       )
       SELECT count(pg_notify('${notificationChannel(this.db.schema)}', '${NOTICE_PREFIX.queue}' || queue_name)) AS sent FROM changed`,
      [workflowId, delayMs > 0 ? this.clock.now() + delayMs : null, Date.now()],
    );
    if (Number(rows[0].sent) === 0) await this.refuse(workflowId, 'its delay');
  }

  /**
   * Deletes a workflow and what it owns (with `children`, its descendants too), in one
   * transaction, its rows locked first. Without `force` only finished workflows: DbosConflictError
   * naming the first unfinished one. Each deletion is announced (`status:<id>`), so that a run
   * still going anywhere hears that its workflow is gone, and stops. Returns the ids deleted, the workflow first.
   */
  async delete(workflowId: string, options: DeleteWorkflowOptions = {}): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const rows = await this.lockTree(tx, workflowId, options.children === true);
      if (rows.length === 0) throw new DbosNotFoundError(`No workflow has the id "${workflowId}".`);
      const unfinished = rows.find((r) => UNFINISHED.has(r.status));
      if (unfinished && !options.force) {
        const which = unfinished.workflow_id === workflowId ? `Workflow "${workflowId}"` : `Its child workflow "${unfinished.workflow_id}"`;
        throw new DbosConflictError(
          `${which} is ${unfinished.status}: only finished workflows are deleted. Cancel it first (client.cancel), or pass { force: true } to cancel and delete it.`,
        );
      }
      const deleted = await tx.unnamed<{ workflow_id: string }>(
        `WITH doomed AS (SELECT unnest($1::text[]) AS workflow_id), ${DELETE_DOOMED}
         SELECT workflow_id, pg_notify('${notificationChannel(this.db.schema)}', '${NOTICE_PREFIX.status}' || workflow_id) FROM deleted
          ORDER BY workflow_id <> $2, workflow_id`,
        [rows.map((r) => r.workflow_id), workflowId],
      );
      return deleted.map((r) => r.workflow_id);
    });
  }

  /** The status rows of the workflow (and, with `children`, its descendants), locked in id order. */
  private lockTree(tx: Sql, workflowId: string, children: boolean): Promise<{ workflow_id: string; status: string }[]> {
    return tx.unnamed(
      `WITH RECURSIVE tree AS (
         SELECT workflow_id FROM {schema}.workflow_status WHERE workflow_id = $1
         UNION
         SELECT c.workflow_id FROM {schema}.workflow_status c JOIN tree t ON c.parent_workflow_id = t.workflow_id WHERE $2
       )
       SELECT w.workflow_id, w.status FROM {schema}.workflow_status w JOIN tree t ON t.workflow_id = w.workflow_id
        ORDER BY w.workflow_id FOR UPDATE OF w`,
      [workflowId, children],
    );
  }

  /** Why a change of an ENQUEUED workflow did nothing: it does not exist, or it no longer waits on its queue. */
  private async refuse(workflowId: string, what: string): Promise<never> {
    const rows = await this.db.unnamed<{ status: string }>(`SELECT status FROM {schema}.workflow_status WHERE workflow_id = $1`, [workflowId]);
    if (rows.length === 0) throw new DbosNotFoundError(`No workflow has the id "${workflowId}".`);
    throw new DbosConflictError(
      `Workflow "${workflowId}" is ${rows[0].status}, not ENQUEUED: ${what} can only be changed while it waits on its queue (a queue has started it, or it never was on one).`,
    );
  }
}
