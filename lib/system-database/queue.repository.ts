import { createHash } from 'node:crypto';
import { realClock, type WorkflowClock } from '../common/clock';
import type { QueueOptions } from '../interfaces/dbos-module-options.interface';
import type { WorkflowStatusRow } from './system.rows';
import { statusColumnsOf, toStatusRow } from './row.mapping';
import { readStatusRows } from './payload.rows';
import type { Sql } from './sql';
import type { SystemDatabase } from './system.database';

export interface ClaimRequest {
  queue: QueueOptions;
  executorId: string;
  applicationVersion: string;
  workflowNames: string[];
  /** At most this many (what this process has room for). */
  max: number;
}

export interface QueueStats {
  queue: string;
  enqueued: number;
  running: number;
}

/**
 * Claims of queued workflows. When a queue has limits that span processes (concurrency, rate),
 * claims of that queue take turns under a transaction-scoped advisory lock, so the counts they
 * read are exact; the rows themselves are taken with FOR UPDATE SKIP LOCKED.
 */
export class QueueRepository {
  constructor(
    private readonly db: SystemDatabase,
    /** Delays and rate limits are workflow time. */
    private readonly clock: WorkflowClock = realClock,
  ) {}

  /** Claimed rows, now PENDING on the executor; `hasSteps` tells whether there are checkpoints to replay. */
  async claim(request: ClaimRequest): Promise<{ row: WorkflowStatusRow; hasSteps: boolean }[]> {
    const { queue } = request;
    const globalLimits = queue.concurrency !== undefined || queue.rateLimit !== undefined || queue.partitionConcurrency !== undefined;
    const text = queue.partitioned ? this.partitionedClaimSql(queue) : this.claimSql(queue);
    const values = (now: number) => [
      queue.name,
      request.executorId,
      request.applicationVersion,
      now,
      request.max,
      queue.partitioned ? (queue.partitionConcurrency ?? queue.concurrency ?? null) : (queue.concurrency ?? null),
      queue.rateLimit?.limit ?? null,
      queue.rateLimit?.periodMs ?? 0,
      request.workflowNames,
    ];
    const toClaimed = async (raws: Record<string, unknown>[]) => {
      const rows = await readStatusRows(this.db.payloads, raws.map(toStatusRow));
      return rows.map((row, i) => ({ row, hasSteps: Boolean(raws[i].has_steps) }));
    };
    // Without a limit across executors, SKIP LOCKED alone keeps claims apart: one statement, one commit.
    if (!globalLimits) return toClaimed(await this.db.query(text, values(this.clock.now())));
    return this.db.transaction(async (tx) => {
      // Limits across executors count what the others run: claims of the queue take turns.
      const lock = 'SELECT pg_advisory_xact_lock($1)';
      await tx.query(lock, [this.lockKey(queue.name)]);
      // Read the clock only once the lock is held, so start times recorded under it never go backwards.
      return toClaimed(await tx.query(text, values(this.clock.now())));
    });
  }

  private order(queue: QueueOptions, alias = ''): string {
    return queue.priorityEnabled ? `${alias}priority, ${alias}created_at` : `${alias}created_at`;
  }

  private eligible(): string {
    return `queue_name = $1 AND status = 'ENQUEUED' AND (delay_until IS NULL OR delay_until <= $4)
            AND (application_version = $3 OR application_version IS NULL) AND workflow_name = ANY($9::text[])`;
  }

  private claimedUpdate(picked: string): string {
    return `UPDATE {schema}.workflow_status w
               SET status = 'PENDING', executor_id = $2, application_version = $3, started_at = $4, updated_at = $4,
                   run_epoch = w.run_epoch + 1,
                   -- The deadline counts from the first dequeue: one put back on its queue by recovery keeps it.
                   deadline = CASE WHEN w.timeout_ms IS NULL OR w.started_at IS NOT NULL THEN w.deadline
                                   ELSE LEAST(COALESCE(w.deadline, $4 + w.timeout_ms), $4 + w.timeout_ms) END
              FROM ${picked} p WHERE w.workflow_id = p.workflow_id
            RETURNING ${statusColumnsOf('w')},
                      EXISTS (SELECT 1 FROM {schema}.operation_outputs o WHERE o.workflow_id = w.workflow_id) AS has_steps`;
  }

  private claimSql(queue: QueueOptions): string {
    return `WITH room AS (
              SELECT LEAST(
                $5::int,
                CASE WHEN $6::int IS NULL THEN $5::int
                     ELSE $6::int - (SELECT count(*) FROM {schema}.workflow_status WHERE queue_name = $1 AND status = 'PENDING')::int END,
                CASE WHEN $7::int IS NULL THEN $5::int
                     ELSE $7::int - (SELECT count(*) FROM {schema}.workflow_status WHERE queue_name = $1 AND started_at > $4 - $8::bigint)::int END
              ) AS n
            ), picked AS (
              SELECT workflow_id FROM {schema}.workflow_status
               WHERE ${this.eligible()}
               ORDER BY ${this.order(queue)}
               LIMIT GREATEST((SELECT n FROM room), 0)
               FOR UPDATE SKIP LOCKED
            )
            ${this.claimedUpdate('picked')}`;
  }

  private partitionedClaimSql(queue: QueueOptions): string {
    return `WITH running AS (
              SELECT partition_key, count(*)::int AS n FROM {schema}.workflow_status
               WHERE queue_name = $1 AND status = 'PENDING' GROUP BY partition_key
            ), started AS (
              SELECT partition_key, count(*)::int AS n FROM {schema}.workflow_status
               WHERE $7::int IS NOT NULL AND queue_name = $1 AND started_at > $4 - $8::bigint GROUP BY partition_key
            ), ranked AS (
              SELECT workflow_id, partition_key, priority, created_at,
                     row_number() OVER (PARTITION BY partition_key ORDER BY ${this.order(queue)}) AS rn
                FROM {schema}.workflow_status WHERE ${this.eligible()}
            ), eligible AS (
              SELECT r.workflow_id FROM ranked r
                LEFT JOIN running ru ON ru.partition_key IS NOT DISTINCT FROM r.partition_key
                LEFT JOIN started st ON st.partition_key IS NOT DISTINCT FROM r.partition_key
               WHERE ($6::int IS NULL OR r.rn <= $6::int - COALESCE(ru.n, 0))
                 AND ($7::int IS NULL OR r.rn <= $7::int - COALESCE(st.n, 0))
               ORDER BY ${this.order(queue, 'r.')}
               LIMIT $5::int
            ), picked AS (
              -- Eligibility is checked again on the locked row: another claim (or a cancel) may have
              -- committed since the ranking read it.
              SELECT workflow_id FROM {schema}.workflow_status
               WHERE workflow_id IN (SELECT workflow_id FROM eligible) AND ${this.eligible()}
               FOR UPDATE SKIP LOCKED
            )
            ${this.claimedUpdate('picked')}`;
  }

  /**
   * When the next delayed or rate-limited workflow of these queues may start (epoch ms), if any,
   * counting delays after `now`: pass the time of the claims just made, so a delay that ran out
   * between them and this read still counts (it is past: the dispatcher claims again at once)
   * instead of leaving it to the next poll.
   */
  async nextEligibleAt(queues: QueueOptions[], now = this.clock.now()): Promise<number | null> {
    if (queues.length === 0) return null;
    const delayed = await this.db.query<{ at: string | null }>(
      `SELECT min(delay_until) AS at FROM {schema}.workflow_status
        WHERE queue_name = ANY($1::text[]) AND status = 'ENQUEUED' AND delay_until > $2`,
      [queues.map((q) => q.name), now],
    );
    let next = delayed[0]?.at === null || delayed[0]?.at === undefined ? null : Number(delayed[0].at);
    for (const queue of queues.filter((q) => q.rateLimit)) {
      const oldest = await this.db.query<{ at: string | null }>(
        `SELECT min(started_at) AS at FROM {schema}.workflow_status WHERE queue_name = $1 AND started_at > $2`,
        [queue.name, now - queue.rateLimit!.periodMs],
      );
      if (oldest[0]?.at != null) {
        const at = Number(oldest[0].at) + queue.rateLimit!.periodMs;
        next = next === null ? at : Math.min(next, at);
      }
    }
    return next;
  }

  /** Queued workflows on these queues whose names no registered workflow has, counted per queue and name. */
  async unknownWorkflows(queueNames: string[], workflowNames: string[]): Promise<{ queue: string; workflowName: string; count: number }[]> {
    const rows = await this.db.query<{ queue_name: string; workflow_name: string; n: number }>(
      `SELECT queue_name, workflow_name, count(*)::int AS n FROM {schema}.workflow_status
        WHERE status = 'ENQUEUED' AND queue_name = ANY($1::text[]) AND NOT (workflow_name = ANY($2::text[]))
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [queueNames, workflowNames],
    );
    return rows.map((r) => ({ queue: r.queue_name, workflowName: r.workflow_name, count: r.n }));
  }

  /**
   * Queues other than `served` with work due for longer than `ageMs` (enqueued, its delay passed)
   * of which nothing is running and nothing started meanwhile: no live process declares them.
   */
  async stalledQueues(served: string[], ageMs: number): Promise<{ queue: string; count: number }[]> {
    const rows = await this.db.query<{ queue_name: string; n: number }>(
      `SELECT w.queue_name, count(*)::int AS n FROM {schema}.workflow_status w
        WHERE w.status = 'ENQUEUED' AND w.queue_name IS NOT NULL AND NOT (w.queue_name = ANY($1::text[]))
          AND greatest(w.created_at, coalesce(w.delay_until, 0)) < $2::bigint - $3::bigint
          AND NOT EXISTS (SELECT 1 FROM {schema}.workflow_status r
                           WHERE r.queue_name = w.queue_name AND (r.status = 'PENDING' OR r.started_at > $2::bigint - $3::bigint))
        GROUP BY 1 ORDER BY 1`,
      [served, Date.now(), ageMs],
    );
    return rows.map((r) => ({ queue: r.queue_name, count: r.n }));
  }

  async findByDeduplicationId(queueName: string, deduplicationId: string): Promise<string | null> {
    const rows = await this.db.query<{ workflow_id: string }>(
      `SELECT workflow_id FROM {schema}.workflow_status WHERE queue_name = $1 AND deduplication_id = $2`,
      [queueName, deduplicationId],
    );
    return rows[0]?.workflow_id ?? null;
  }

  /** Depth and running count per queue. */
  stats(): Promise<QueueStats[]> {
    return queueStatsOn(this.db);
  }

  private lockKey(queueName: string): string {
    return createHash('sha256').update(`nestjs-dbos:queue:${this.db.schema}:${queueName}`).digest().readBigInt64BE(0).toString();
  }
}

/** Depth and running count per queue, read through `sql` (the primary, or the read replica for display). */
export async function queueStatsOn(sql: Sql): Promise<QueueStats[]> {
  const rows = await sql.query<{ queue_name: string; enqueued: number; running: number }>(
    // Two counts, each over its partial index (queued, running): finished history is never read.
    `SELECT queue_name, sum(enqueued)::int AS enqueued, sum(running)::int AS running FROM (
         SELECT queue_name, count(*) AS enqueued, 0 AS running FROM {schema}.workflow_status
          WHERE status = 'ENQUEUED' AND queue_name IS NOT NULL GROUP BY queue_name
         UNION ALL
         SELECT queue_name, 0, count(*) FROM {schema}.workflow_status
          WHERE status = 'PENDING' AND queue_name IS NOT NULL GROUP BY queue_name
       ) counts GROUP BY queue_name ORDER BY queue_name`,
  );
  return rows.map((r) => ({ queue: r.queue_name, enqueued: r.enqueued, running: r.running }));
}
