import { DB_NOW, type Sql } from './sql';
import type { PayloadCodec, PayloadKind } from '../payloads/payload.codec';
import { STATUS_COLUMNS_WITHOUT_PAYLOADS, toStatusRow } from './row.mapping';
import type { WorkflowStatusRow } from './system.rows';

/** Most rows of one kind a workflow's page shows (a workflow with more shows the first ones). */
const DETAIL_LIMIT = 500;

export interface RelatedWorkflow {
  workflowId: string;
  workflowName: string;
  status: string;
  createdAt: number;
}

export interface QueueDepth {
  queue: string;
  enqueued: number;
  running: number;
  /** Age of the oldest ENQUEUED workflow (ms, database clock), null when none waits. */
  oldestWaitingMs: number | null;
}

export interface ExecutorInfo {
  executorId: string;
  applicationVersion: string;
  hostname: string;
  pid: number;
  heartbeatAgeMs: number;
  running: number;
}

export interface VersionLoad {
  applicationVersion: string | null;
  pending: number;
  enqueued: number;
}

export interface ActivityBucket {
  /** Start of the bucket (epoch ms). */
  at: number;
  started: number;
  succeeded: number;
  failed: number;
}

export interface StepLatency {
  workflowName: string;
  steps: number;
  p50: number;
  p95: number;
  p99: number;
}

/**
 * The reads of the operations dashboard that no other part needs: what a workflow published and
 * received, its relatives, queue and executor summaries, activity counts and the change feed.
 * Every statement is bounded (LIMIT or an indexed time range), so a page costs the same on a
 * table of millions of workflows.
 */
export class DashboardRepository {
  constructor(
    private readonly db: Sql,
    private readonly payloads: PayloadCodec,
  ) {}

  /** Payloads as shown: decoded, and `[encrypted]` where this process has not the key. */
  private shown(values: (string | null)[], kind?: PayloadKind): Promise<(string | null)[]> {
    return this.payloads.forDisplay().decodeAll(values, kind);
  }

  /** The failed attempts of the workflow's retried steps, by step and attempt; errors as shown (`[encrypted]` without the key). */
  async failedAttempts(workflowId: string): Promise<{ stepId: number; attempt: number; startedAt: number; endedAt: number; error: string | null }[]> {
    const rows = await this.db.unnamed<{ step_id: number; attempt: number; started_at: string; ended_at: string; error: string }>(
      `SELECT step_id, attempt, started_at, ended_at, error FROM {schema}.step_attempts WHERE workflow_id = $1 ORDER BY step_id, attempt LIMIT ${DETAIL_LIMIT}`,
      [workflowId],
    );
    const errors = await this.shown(
      rows.map((r) => r.error),
      'error',
    );
    return rows.map((r, i) => ({ stepId: r.step_id, attempt: r.attempt, startedAt: Number(r.started_at), endedAt: Number(r.ended_at), error: errors[i] }));
  }

  async events(workflowId: string): Promise<{ key: string; value: string | null }[]> {
    const rows = await this.db.unnamed<{ key: string; value: string | null }>(
      `SELECT key, value FROM {schema}.workflow_events WHERE workflow_id = $1 ORDER BY key LIMIT ${DETAIL_LIMIT}`,
      [workflowId],
    );
    const values = await this.shown(rows.map((r) => r.value));
    return rows.map((r, i) => ({ key: r.key, value: values[i] }));
  }

  async streamEntries(workflowId: string): Promise<{ key: string; offset: number; value: string | null; closed: boolean }[]> {
    const rows = await this.db.unnamed<{ key: string; offset: number; value: string | null; closed: boolean }>(
      `SELECT key, "offset", value, closed FROM {schema}.streams WHERE workflow_id = $1 ORDER BY key, "offset" LIMIT ${DETAIL_LIMIT}`,
      [workflowId],
    );
    const values = await this.shown(rows.map((r) => r.value));
    return rows.map((r, i) => ({ ...r, offset: Number(r.offset), value: values[i] }));
  }

  async unconsumedMessages(workflowId: string): Promise<{ topic: string; message: string | null; createdAt: number }[]> {
    const rows = await this.db.unnamed<{ topic: string; message: string | null; created_at: string }>(
      `SELECT topic, message, created_at FROM {schema}.notifications WHERE destination_id = $1 ORDER BY seq LIMIT ${DETAIL_LIMIT}`,
      [workflowId],
    );
    const messages = await this.shown(rows.map((r) => r.message));
    return rows.map((r, i) => ({ topic: r.topic, message: messages[i], createdAt: Number(r.created_at) }));
  }

  /** Workflows started by this one (children) and made from it (forks). */
  async relatives(workflowId: string): Promise<{ children: RelatedWorkflow[]; forks: RelatedWorkflow[] }> {
    const select = `SELECT workflow_id, workflow_name, status, created_at FROM {schema}.workflow_status`;
    const page = `ORDER BY created_at LIMIT ${DETAIL_LIMIT}`;
    const toRelated = (rows: Record<string, string>[]) =>
      rows.map((r) => ({ workflowId: r.workflow_id, workflowName: r.workflow_name, status: r.status, createdAt: Number(r.created_at) }));
    const [children, forks] = await Promise.all([
      this.db.unnamed<Record<string, string>>(`${select} WHERE parent_workflow_id = $1 ${page}`, [workflowId]),
      // forked_from's index holds the finished rows (as the list's indexes do); the PENDING ones come from the PENDING index.
      this.db.unnamed<Record<string, string>>(
        `SELECT * FROM ((${select} WHERE forked_from = $1 AND status <> 'PENDING' ${page})
                        UNION ALL (${select} WHERE forked_from = $1 AND status = 'PENDING' ${page})) forks ${page}`,
        [workflowId],
      ),
    ]);
    return { children: toRelated(children), forks: toRelated(forks) };
  }

  /** Per queue with work: depth, running, and how long its oldest queued workflow has waited. */
  async queueDepths(): Promise<QueueDepth[]> {
    // Both halves read partial indexes (queued, running): finished history is never read.
    const rows = await this.db.unnamed<{ queue_name: string; enqueued: number; running: number; oldest: string | null }>(
      `SELECT queue_name, sum(enqueued)::int AS enqueued, sum(running)::int AS running, ${DB_NOW} - min(oldest) AS oldest FROM (
         SELECT queue_name, count(*) AS enqueued, 0 AS running, min(created_at) AS oldest FROM {schema}.workflow_status
          WHERE status = 'ENQUEUED' AND queue_name IS NOT NULL GROUP BY queue_name
         UNION ALL
         SELECT queue_name, 0, count(*), NULL FROM {schema}.workflow_status
          WHERE status = 'PENDING' AND queue_name IS NOT NULL GROUP BY queue_name
       ) counts GROUP BY queue_name ORDER BY queue_name`,
    );
    return rows.map((r) => ({ queue: r.queue_name, enqueued: r.enqueued, running: r.running, oldestWaitingMs: r.oldest === null ? null : Number(r.oldest) }));
  }

  /** Every registered executor with its heartbeat age and how many workflows it runs. */
  async executors(): Promise<ExecutorInfo[]> {
    const rows = await this.db.unnamed<Record<string, string>>(
      `SELECT e.executor_id, e.application_version, e.hostname, e.pid, ${DB_NOW} - e.heartbeat_at AS age,
              (SELECT count(*) FROM {schema}.workflow_status w WHERE w.status = 'PENDING' AND w.executor_id = e.executor_id)::int AS running
         FROM {schema}.executors e ORDER BY e.heartbeat_at DESC LIMIT ${DETAIL_LIMIT}`,
    );
    return rows.map((r) => ({
      executorId: r.executor_id,
      applicationVersion: r.application_version,
      hostname: r.hostname,
      pid: Number(r.pid),
      heartbeatAgeMs: Number(r.age),
      running: Number(r.running),
    }));
  }

  /** PENDING and ENQUEUED workflows per application version. */
  async versionLoads(): Promise<VersionLoad[]> {
    // One branch per status, so each reads its partial index: finished history is never read.
    const rows = await this.db.unnamed<{ application_version: string | null; pending: number; enqueued: number }>(
      `SELECT application_version, sum(pending)::int AS pending, sum(enqueued)::int AS enqueued FROM (
         SELECT application_version, count(*) AS pending, 0 AS enqueued FROM {schema}.workflow_status WHERE status = 'PENDING' GROUP BY application_version
         UNION ALL
         SELECT application_version, 0, count(*) FROM {schema}.workflow_status WHERE status = 'ENQUEUED' GROUP BY application_version
       ) loads GROUP BY application_version ORDER BY application_version NULLS FIRST`,
    );
    return rows.map((r) => ({ applicationVersion: r.application_version, pending: r.pending, enqueued: r.enqueued }));
  }

  /** Ids of the unfinished (PENDING, ENQUEUED) workflows of a version other than `current`, oldest first. */
  async unfinishedOfVersion(applicationVersion: string | null, limit: number): Promise<string[]> {
    const rows = await this.db.unnamed<{ workflow_id: string }>(
      `SELECT workflow_id FROM (
         (SELECT workflow_id, created_at FROM {schema}.workflow_status
           WHERE status = 'PENDING' AND application_version IS NOT DISTINCT FROM $1 ORDER BY created_at LIMIT $2)
         UNION ALL
         (SELECT workflow_id, created_at FROM {schema}.workflow_status
           WHERE status = 'ENQUEUED' AND application_version IS NOT DISTINCT FROM $1 ORDER BY created_at LIMIT $2)
       ) unfinished ORDER BY created_at LIMIT $2`,
      [applicationVersion, limit],
    );
    return rows.map((r) => r.workflow_id);
  }

  /**
   * Started, succeeded and failed workflows per bucket of `bucketMs` since `since`: started by
   * creation time (created_at index), finished by last update (updated_at index).
   */
  async activity(since: number, bucketMs: number): Promise<ActivityBucket[]> {
    const bucket = (column: string) => `(${column} - ${column} % $2::bigint)`;
    const rows = await this.db.unnamed<{ at: string; started: number; succeeded: number; failed: number }>(
      `SELECT at, sum(started)::int AS started, sum(succeeded)::int AS succeeded, sum(failed)::int AS failed FROM (
         SELECT ${bucket('created_at')} AS at, count(*) AS started, 0 AS succeeded, 0 AS failed
           FROM {schema}.workflow_status WHERE created_at >= $1 GROUP BY 1
         UNION ALL
         SELECT ${bucket('updated_at')}, 0, count(*) FILTER (WHERE status = 'SUCCESS'),
                count(*) FILTER (WHERE status IN ('ERROR', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'))
           FROM {schema}.workflow_status WHERE updated_at >= $1 AND status <> 'PENDING' GROUP BY 1
       ) counts GROUP BY at ORDER BY at`,
      [since, bucketMs],
    );
    return rows.map((r) => ({ at: Number(r.at), started: r.started, succeeded: r.succeeded, failed: r.failed }));
  }

  /** Step duration percentiles (ms) per workflow name, over the steps of workflows created since `since` (at most `sample` of them). */
  async stepLatencies(since: number, sample = 5000): Promise<StepLatency[]> {
    const rows = await this.db.unnamed<{ workflow_name: string; steps: number; p: number[] }>(
      `WITH recent AS (
         SELECT workflow_id, workflow_name FROM {schema}.workflow_status WHERE created_at >= $1 ORDER BY created_at DESC LIMIT $2
       )
       SELECT r.workflow_name, count(*)::int AS steps,
              percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY o.completed_at - o.started_at) AS p
         FROM recent r JOIN {schema}.operation_outputs o ON o.workflow_id = r.workflow_id
        WHERE o.started_at IS NOT NULL AND o.completed_at IS NOT NULL
        GROUP BY r.workflow_name ORDER BY r.workflow_name`,
      [since, sample],
    );
    return rows.map((r) => ({ workflowName: r.workflow_name, steps: r.steps, p50: r.p[0], p95: r.p[1], p99: r.p[2] }));
  }

  /**
   * Workflows updated after `since` (epoch ms), oldest change first, without payloads: the feed
   * of the live list. Two halves so each reads its index (running ones, the rest by updated_at).
   */
  async changedSince(since: number, limit: number): Promise<WorkflowStatusRow[]> {
    const columns = STATUS_COLUMNS_WITHOUT_PAYLOADS;
    const rows = await this.db.unnamed(
      `SELECT * FROM (
         (SELECT ${columns} FROM {schema}.workflow_status WHERE status <> 'PENDING' AND updated_at > $1 ORDER BY updated_at LIMIT $2)
         UNION ALL
         (SELECT ${columns} FROM {schema}.workflow_status WHERE status = 'PENDING' AND updated_at > $1 ORDER BY updated_at LIMIT $2)
       ) changed ORDER BY updated_at LIMIT $2`,
      [since, limit],
    );
    return rows.map(toStatusRow);
  }
}
