import { DbosNotFoundError } from '../errors/not-found.error';
import type { CheckpointRepository } from './checkpoint.repository';
import type { CommunicationRepository } from './communication.repository';
import type { WorkflowStatusRow } from './system.rows';
import type { SystemDatabase } from './system.database';
import type { CancelledWorkflow, ReopenTarget, WorkflowStatusRepository } from './workflow-status.repository';

/** Queue on which workflows wait that any executor of their version may run (resume, fork from a client). */
export const INTERNAL_QUEUE = '_dbos_internal';

export type RunTarget = { status: 'PENDING'; executorId: string } | { status: 'ENQUEUED'; queueName: string | null };

const notFound = (workflowId: string) => new DbosNotFoundError(`No workflow has the id "${workflowId}".`);

/**
 * Pause after each deletion batch, in multiples of the batch's time: a quarter of the time
 * deleting. With 10,000,000 rows a deletion at half its time (ratio 1) cost the 64-in-flight
 * workload a third of its throughput on a 2-core server (its WAL competes with every commit's).
 */
export const DEFAULT_DELETE_PAUSE_RATIO = 3;

/** Cancel, resume and fork as database changes; who then runs the workflow is the caller's business. */
export class WorkflowAdmin {
  constructor(
    private readonly db: SystemDatabase,
    private readonly statuses: WorkflowStatusRepository,
    private readonly checkpoints: CheckpointRepository,
    private readonly communication: CommunicationRepository,
  ) {}

  /**
   * Cancels the workflows and their unfinished descendants, all or nothing, in one transaction:
   * the rows given are locked first (a queue's claim skips them from then on), then every tree is
   * cancelled by one statement. When an id is unknown nothing is cancelled: DbosNotFoundError
   * naming every unknown id. Returns what was cancelled (finished workflows are left as they are).
   */
  async cancel(workflowIds: string | string[], error: string | null = null): Promise<CancelledWorkflow[]> {
    const ids = [...new Set(([] as string[]).concat(workflowIds))];
    if (ids.length === 0) return [];
    return this.db.transaction(async (client) => {
      const existing = await this.statuses.lockExisting(client, ids);
      const unknown = ids.filter((id) => !existing.has(id));
      if (unknown.length === 1 && ids.length === 1) throw notFound(unknown[0]);
      if (unknown.length > 0) {
        throw new DbosNotFoundError(`No workflow has the id ${unknown.map((id) => `"${id}"`).join(', ')}; none of the ${ids.length} workflows was cancelled.`);
      }
      return this.statuses.cancelTrees(client, ids, error);
    });
  }

  /**
   * Reopens a CANCELLED or failed workflow, with the descendants its cancel stopped, so that it
   * continues from its last completed step. The rows reopened (the workflow first); empty when it
   * was not in such a state (running, finished, or a concurrent resume won).
   */
  async reopen(workflowId: string, target: ReopenTarget, applicationVersion: string | null = null): Promise<WorkflowStatusRow[]> {
    const current = await this.statuses.get(workflowId);
    if (!current) throw notFound(workflowId);
    return this.db.transaction(async (client) => {
      const rows = await this.statuses.reopen(client, workflowId, target, applicationVersion);
      for (const row of rows) await this.checkpoints.dropTrailingErrors(client, row.workflowId);
      return rows;
    });
  }

  /** Copies `fromId` as `toId` with the checkpoints (and what they published) before `fromStep`. */
  async fork(fromId: string, toId: string, fromStep: number, target: RunTarget, applicationVersion: string | null): Promise<void> {
    const source = await this.statuses.get(fromId);
    if (!source) throw notFound(fromId);
    await this.db.transaction(async (client) => {
      // A fork of a queued workflow goes through that queue, like the original did.
      const queued = source.queueName !== null && source.queueName !== INTERNAL_QUEUE;
      const place: RunTarget = queued ? { status: 'ENQUEUED', queueName: source.queueName } : target;
      const inserted = await this.statuses.insertFork(client, fromId, toId, {
        status: place.status,
        executorId: place.status === 'PENDING' ? place.executorId : null,
        queueName: place.status === 'ENQUEUED' ? (place.queueName ?? source.queueName ?? INTERNAL_QUEUE) : null,
        applicationVersion,
      });
      if (!inserted) throw notFound(fromId);
      await this.checkpoints.copy(client, fromId, toId, fromStep);
      await this.communication.copyPublished(client, fromId, toId, fromStep);
    });
  }

  /**
   * Deletes finished workflows created before `cutoff`, with their steps, events, streams and
   * messages, oldest first, in batches of `batchSize` (short transactions; rows in use are
   * skipped, and left for the next deletion). Between batches it waits `pauseRatio` times as long as the batch took, so that a
   * large deletion leaves the server to the running workflows most of the time (0: no pause).
   */
  async deleteFinishedBefore(cutoff: number, batchSize = 500, pauseRatio = DEFAULT_DELETE_PAUSE_RATIO): Promise<number> {
    let total = 0;
    // Each batch starts where the last one ended: the index entries of the rows already deleted
    // stay until a vacuum, and walking them again from the oldest made every batch slower.
    let from: number | null = null;
    for (;;) {
      const started = Date.now();
      const rows: { n: number; last: string | null }[] = await this.db.query<{ n: number; last: string | null }>(
        `WITH doomed AS (
           SELECT workflow_id, created_at FROM ${this.db.s}.workflow_status
            WHERE created_at < $1 AND ($3::bigint IS NULL OR created_at >= $3)
              AND status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')
            ORDER BY created_at
            LIMIT $2 FOR UPDATE SKIP LOCKED
         ), steps AS (
           DELETE FROM ${this.db.s}.operation_outputs o USING doomed d WHERE o.workflow_id = d.workflow_id
         ), events AS (
           DELETE FROM ${this.db.s}.workflow_events e USING doomed d WHERE e.workflow_id = d.workflow_id
         ), history AS (
           DELETE FROM ${this.db.s}.workflow_events_history h USING doomed d WHERE h.workflow_id = d.workflow_id
         ), streams AS (
           DELETE FROM ${this.db.s}.streams x USING doomed d WHERE x.workflow_id = d.workflow_id
         ), messages AS (
           DELETE FROM ${this.db.s}.notifications m USING doomed d WHERE m.destination_id = d.workflow_id
         ), message_keys AS (
           DELETE FROM ${this.db.s}.message_keys k USING doomed d WHERE k.destination_id = d.workflow_id
         ), deleted AS (
           DELETE FROM ${this.db.s}.workflow_status w USING doomed d WHERE w.workflow_id = d.workflow_id RETURNING 1
         )
         SELECT (SELECT count(*)::int FROM deleted) AS n, (SELECT max(created_at) FROM doomed) AS last`,
        [cutoff, batchSize, from],
      );
      total += rows[0].n;
      if (rows[0].last !== null) from = Number(rows[0].last);
      if (rows[0].n < batchSize) return total;
      const pause = (Date.now() - started) * pauseRatio;
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
