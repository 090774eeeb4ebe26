import { DbosNotFoundError } from '../errors/not-found.error';
import type { CheckpointRepository } from './checkpoint.repository';
import type { CommunicationRepository } from './communication.repository';
import type { WorkflowStatusRow } from './system.rows';
import type { Sql } from './sql';
import { readStatusRows } from './payload.rows';
import type { SystemDatabase } from './system.database';
import type { ListingRepository } from './listing.repository';
import { statusColumnsOf, toStatusRow } from './row.mapping';
import { INTERNAL_QUEUE } from './system.names';
import { DELETE_DOOMED } from './workflow-edit.repository';

export type RunTarget = { status: 'PENDING'; executorId: string } | { status: 'ENQUEUED'; queueName: string | null };

/** A workflow a cancel stopped, and the workflow given to the cancel that reached it (itself, for a root). */
export interface CancelledWorkflow {
  workflowId: string;
  workflowName: string;
  rootId: string;
  /** It was ENQUEUED (not yet run by any process) when the cancel changed it. */
  wasEnqueued: boolean;
  /** The trace context its start stored (for log lines). */
  traceContext: string | null;
}

/** Who runs a reopened workflow: this executor (when it has the code and version), else any, through a queue. */
export interface ReopenTarget {
  executorId: string;
  applicationVersion: string;
  /** Workflow names this executor can run now (empty while it shuts down). */
  runnableNames: string[];
  /** Queue for workflows that did not come from one and cannot run here. */
  fallbackQueue: string;
}

const notFound = (workflowId: string) => new DbosNotFoundError(`No workflow has the id "${workflowId}".`);

/**
 * Pause after each deletion batch, in multiples of the batch's time: a quarter of the time
 * deleting. With 10,000,000 rows a deletion at half its time (ratio 1) cost the 64-in-flight
 * workload a third of its throughput on a 2-core server (its WAL competes with every commit's).
 */
export const DEFAULT_DELETE_PAUSE_RATIO = 3;

/**
 * Administration of workflows as database changes: cancel, resume (reopen), fork, the versions
 * still running, retention. Who then runs a workflow is the caller's business.
 */
export class AdminRepository {
  constructor(
    private readonly db: SystemDatabase,
    private readonly listing: ListingRepository,
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
    return this.db.transaction(async (tx) => {
      const existing = await this.lockExisting(tx, ids);
      const unknown = ids.filter((id) => !existing.has(id));
      if (unknown.length === 1 && ids.length === 1) throw notFound(unknown[0]);
      if (unknown.length > 0) {
        throw new DbosNotFoundError(`No workflow has the id ${unknown.map((id) => `"${id}"`).join(', ')}; none of the ${ids.length} workflows was cancelled.`);
      }
      return this.cancelTrees(tx, ids, error);
    });
  }

  /**
   * Reopens a CANCELLED or failed workflow, with the descendants its cancel stopped, so that it
   * continues from its last completed step. The rows reopened (the workflow first); empty when it
   * was not in such a state (running, finished, or a concurrent resume won).
   */
  async reopen(workflowId: string, target: ReopenTarget, applicationVersion: string | null = null): Promise<WorkflowStatusRow[]> {
    const current = await this.listing.get(workflowId);
    if (!current) throw notFound(workflowId);
    return this.db.transaction(async (tx) => {
      const rows = await this.reopenRows(tx, workflowId, target, applicationVersion);
      for (const row of rows) await this.checkpoints.dropTrailingErrors(tx, row.workflowId);
      return rows;
    });
  }

  /** Copies `fromId` as `toId` with the checkpoints (and what they published) before `fromStep`; `traceContext`: the forker's. */
  async fork(
    fromId: string,
    toId: string,
    fromStep: number,
    target: RunTarget,
    applicationVersion: string | null,
    traceContext: string | null = null,
  ): Promise<void> {
    const source = await this.listing.get(fromId);
    if (!source) throw notFound(fromId);
    await this.db.transaction(async (tx) => {
      // A fork of a queued workflow goes through that queue, like the original did.
      const queued = source.queueName !== null && source.queueName !== INTERNAL_QUEUE;
      const place: RunTarget = queued ? { status: 'ENQUEUED', queueName: source.queueName } : target;
      const inserted = await this.insertFork(tx, fromId, toId, {
        status: place.status,
        executorId: place.status === 'PENDING' ? place.executorId : null,
        queueName: place.status === 'ENQUEUED' ? (place.queueName ?? source.queueName ?? INTERNAL_QUEUE) : null,
        applicationVersion,
        traceContext,
      });
      if (!inserted) throw notFound(fromId);
      await this.checkpoints.copy(tx, fromId, toId, fromStep);
      await this.communication.copyPublished(tx, fromId, toId, fromStep);
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
           SELECT workflow_id, created_at FROM {schema}.workflow_status
            WHERE created_at < $1 AND ($3::bigint IS NULL OR created_at >= $3)
              AND status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')
            ORDER BY created_at
            LIMIT $2 FOR UPDATE SKIP LOCKED
         ), ${DELETE_DOOMED}
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

  /**
   * Cancels each workflow of `rootIds` and its unfinished descendants, in one statement (a queue
   * cannot start one of them between the others). Each descendant records the root whose cancel
   * stopped it (`cancel_root`), so resuming that root brings it back. Returns what it cancelled,
   * each with the status it had then (read under its row lock: a claim that committed meanwhile
   * is seen, so `wasEnqueued` never names a workflow a dispatcher had started).
   */
  async cancelTrees(sql: Sql, rootIds: string[], error: string | null): Promise<CancelledWorkflow[]> {
    const rows = await sql.unnamed<{ workflow_id: string; workflow_name: string; root: string; before: string; trace_context: string | null }>(
      `WITH RECURSIVE tree AS (
         SELECT workflow_id, workflow_id AS root FROM {schema}.workflow_status WHERE workflow_id = ANY($1::text[])
         UNION
         SELECT c.workflow_id, t.root FROM {schema}.workflow_status c JOIN tree t ON c.parent_workflow_id = t.workflow_id
       ), target AS (
         -- A root that is also a descendant of another root given is its own root.
         SELECT DISTINCT ON (workflow_id) workflow_id, root FROM tree ORDER BY workflow_id, (workflow_id = root) DESC, root
       ), locked AS (
         -- Locked first, so that the status read is the one the update changes.
         SELECT s.workflow_id, s.status FROM {schema}.workflow_status s JOIN target t ON t.workflow_id = s.workflow_id
          WHERE s.status IN ('PENDING', 'ENQUEUED') ORDER BY s.workflow_id FOR UPDATE OF s
       )
       UPDATE {schema}.workflow_status w
          SET status = 'CANCELLED', error = $2, updated_at = $3, deduplication_id = NULL,
              cancel_root = CASE WHEN w.workflow_id = t.root THEN NULL ELSE t.root END
         FROM target t JOIN locked l ON l.workflow_id = t.workflow_id
        WHERE w.workflow_id = t.workflow_id AND w.status IN ('PENDING', 'ENQUEUED')
       RETURNING w.workflow_id, w.workflow_name, t.root, l.status AS before, w.trace_context`,
      [rootIds, await this.db.payloads.encode(error, 'error'), Date.now()],
    );
    return rows.map((r) => ({
      workflowId: r.workflow_id,
      workflowName: r.workflow_name,
      rootId: r.root,
      wasEnqueued: r.before === 'ENQUEUED',
      traceContext: r.trace_context,
    }));
  }

  /** Locks the status rows of these ids (in id order, so concurrent bulk operations cannot deadlock); returns the ids that exist. */
  private async lockExisting(tx: Sql, workflowIds: string[]): Promise<Set<string>> {
    const rows = await tx.unnamed<{ workflow_id: string }>(
      `SELECT workflow_id FROM {schema}.workflow_status WHERE workflow_id = ANY($1::text[]) ORDER BY workflow_id FOR UPDATE`,
      [workflowIds],
    );
    return new Set(rows.map((r) => r.workflow_id));
  }

  /** Cancels one workflow and its unfinished descendants (a timeout); see cancelTrees. */
  cancelTree(workflowId: string, error: string | null): Promise<CancelledWorkflow[]> {
    return this.cancelTrees(this.db, [workflowId], error);
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
  private async reopenRows(tx: Sql, workflowId: string, target: ReopenTarget, applicationVersion: string | null): Promise<WorkflowStatusRow[]> {
    const rows = await tx.unnamed(
      `WITH RECURSIVE root AS (
         SELECT workflow_id FROM {schema}.workflow_status
          WHERE workflow_id = $1
            AND (status IN ('CANCELLED', 'ERROR', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')
                 OR ($2::text IS NOT NULL AND status IN ('PENDING', 'ENQUEUED') AND application_version IS DISTINCT FROM $2::text))
          FOR UPDATE
       ), tree AS (
         SELECT workflow_id FROM root
         UNION
         SELECT c.workflow_id FROM {schema}.workflow_status c JOIN tree t ON c.parent_workflow_id = t.workflow_id
       ), placed AS (
         SELECT w.workflow_id,
                CASE WHEN w.queue_name IS NOT NULL AND w.queue_name <> $6 THEN 'queue'
                     WHEN w.workflow_name = ANY($5::text[]) AND COALESCE($2::text, w.application_version) = $4 THEN 'here'
                     ELSE 'fallback' END AS place
           FROM {schema}.workflow_status w JOIN tree t ON t.workflow_id = w.workflow_id
          WHERE w.workflow_id = $1 OR (w.status = 'CANCELLED' AND w.cancel_root = $1)
       )
       UPDATE {schema}.workflow_status w
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
    const reopened = await readStatusRows(this.db.payloads, rows.map(toStatusRow));
    return reopened.sort((a, b) => (a.workflowId === workflowId ? -1 : b.workflowId === workflowId ? 1 : 0));
  }

  /** Inserts the fork of `fromId` as `toId` on a transaction's client; false when `fromId` does not exist. */
  private async insertFork(
    tx: Sql,
    fromId: string,
    toId: string,
    target: {
      status: 'PENDING' | 'ENQUEUED';
      executorId: string | null;
      queueName: string | null;
      applicationVersion: string | null;
      traceContext: string | null;
    },
  ): Promise<boolean> {
    const now = Date.now();
    // The fork keeps its source's place in line: priority and partition.
    const inserted = await tx.unnamed(
      `INSERT INTO {schema}.workflow_status (workflow_id, status, workflow_name, class_name, inputs, executor_id,
         application_version, queue_name, priority, partition_key, forked_from, started_at, created_at, updated_at, trace_context, attributes)
       SELECT $2, $3, workflow_name, class_name, inputs, $4, COALESCE($5, application_version), $6, priority, partition_key, $1,
              CASE WHEN $3 = 'PENDING' THEN $7::bigint END, $7, $7, $8, attributes
         FROM {schema}.workflow_status WHERE workflow_id = $1
       RETURNING workflow_id`,
      [fromId, toId, target.status, target.executorId, target.applicationVersion, target.queueName, now, target.traceContext],
    );
    return inserted.length > 0;
  }

  /** PENDING and ENQUEUED workflows per application version other than `version`. */
  async countOtherVersions(version: string): Promise<{ applicationVersion: string | null; status: string; count: number }[]> {
    const rows = await this.db.query<{ application_version: string | null; status: string; n: number }>(
      // One branch per status, so each reads its partial index (`status IN (...)` implies neither
      // and scans the whole table, finished history included).
      `SELECT application_version, status, count(*)::int AS n FROM (
         SELECT application_version, status FROM {schema}.workflow_status
          WHERE status = 'PENDING' AND application_version IS DISTINCT FROM $1 AND application_version IS NOT NULL
         UNION ALL
         SELECT application_version, status FROM {schema}.workflow_status
          WHERE status = 'ENQUEUED' AND application_version IS DISTINCT FROM $1 AND application_version IS NOT NULL
       ) unfinished
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [version],
    );
    return rows.map((r) => ({ applicationVersion: r.application_version, status: r.status, count: r.n }));
  }
}
