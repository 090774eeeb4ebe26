import { Injectable } from '@nestjs/common';
import type { QueueOptions } from '../interfaces/dbos-module-options.interface';
import { DbosNondeterminismError } from '../errors/nondeterminism.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import { WorkflowReplayer } from '../evolution/workflow.replayer';
import { QueueRegistry } from '../queues/queue.registry';
import type { WorkflowStatusRow } from '../system-database/system.rows';
import type { ActivityBucket, ExecutorInfo, QueueDepth, StepLatency, VersionLoad } from '../system-database/dashboard.repository';
import { DashboardBackend } from './dashboard.backend';

const HOUR_MS = 3_600_000;

export interface QueueView extends QueueDepth {
  /** The limits this process declares for the queue; null when it does not declare it. */
  limits: Pick<QueueOptions, 'concurrency' | 'workerConcurrency' | 'rateLimit' | 'partitioned' | 'partitionConcurrency' | 'priorityEnabled'> | null;
}

/** A PENDING workflow of a version no live executor runs, and whether it replays on this process's code. */
export interface StrandedView {
  workflowId: string;
  workflowName: string;
  applicationVersion: string | null;
  createdAt: number;
  /** `replays`: its record lines up with this code (moving it is safe); `diverges`: at `divergence`; `unknown`: this code has no such workflow; `error`: the replay failed otherwise. */
  verdict: 'replays' | 'diverges' | 'unknown' | 'error';
  divergence?: { stepId: number; recordedName: string | null; calledName: string | null };
  message?: string;
}

export interface ExecutorsView {
  currentVersion: string;
  executors: (ExecutorInfo & { live: boolean })[];
  versions: VersionLoad[];
  /** The oldest STRANDED_LIMIT PENDING workflows no live executor runs, each dry-replayed on this code (no step runs). */
  stranded: StrandedView[];
}

/** Stranded workflows checked per Executors page. */
const STRANDED_LIMIT = 50;
/** A replay that awaits something not checkpointed gives up after this. */
const REPLAY_TIMEOUT_MS = 2_000;

export interface OverviewView {
  now: number;
  lastHour: { buckets: ActivityBucket[]; bucketMs: number };
  lastDay: { buckets: ActivityBucket[]; bucketMs: number };
  stepLatencies: StepLatency[];
}

/** The Queues, Executors and Overview pages: summaries over the system tables. */
@Injectable()
export class DashboardOperationsService {
  constructor(
    private readonly backend: DashboardBackend,
    private readonly queues: QueueRegistry,
    private readonly replayer: WorkflowReplayer,
  ) {}

  currentVersion(): string {
    return this.backend.applicationVersion;
  }

  /** Queues with work, and the declared queues without any, by name. */
  async queueViews(): Promise<QueueView[]> {
    const depths = await this.backend.reads.queueDepths();
    const byName = new Map(depths.map((d) => [d.queue, d]));
    for (const declared of this.queues.list()) {
      if (!byName.has(declared.name)) byName.set(declared.name, { queue: declared.name, enqueued: 0, running: 0, oldestWaitingMs: null });
    }
    return [...byName.values()]
      .sort((a, b) => a.queue.localeCompare(b.queue))
      .map((depth) => {
        const q = this.queues.get(depth.queue);
        const limits = q
          ? {
              concurrency: q.concurrency,
              workerConcurrency: q.workerConcurrency,
              rateLimit: q.rateLimit,
              partitioned: q.partitioned,
              partitionConcurrency: q.partitionConcurrency,
              priorityEnabled: q.priorityEnabled,
            }
          : null;
        return { ...depth, limits };
      });
  }

  /** Executors (live: heartbeat within the executor lease) and the unfinished workflows per version. */
  async executorsView(): Promise<ExecutorsView> {
    const leaseMs = this.backend.executorLeaseMs;
    const [executors, versions, stranded] = await Promise.all([
      this.backend.current.executors(),
      this.backend.reads.versionLoads(),
      this.backend.adoption.strandedAll(leaseMs, STRANDED_LIMIT),
    ]);
    return {
      currentVersion: this.backend.applicationVersion,
      executors: executors.map((e) => ({ ...e, live: e.heartbeatAgeMs <= leaseMs })),
      versions,
      stranded: await Promise.all(stranded.map((row) => this.verdictOf(row))),
    };
  }

  private async verdictOf(row: WorkflowStatusRow): Promise<StrandedView> {
    const view = { workflowId: row.workflowId, workflowName: row.workflowName, applicationVersion: row.applicationVersion, createdAt: row.createdAt };
    try {
      await this.replayer.replayStatus(row, { timeoutMs: REPLAY_TIMEOUT_MS });
      return { ...view, verdict: 'replays' };
    } catch (err) {
      if (err instanceof DbosNondeterminismError) {
        return {
          ...view,
          verdict: 'diverges',
          divergence: { stepId: err.stepId, recordedName: err.recordedName, calledName: err.calledName },
          message: err.message,
        };
      }
      if (err instanceof DbosNotFoundError) return { ...view, verdict: 'unknown', message: (err as Error).message };
      return { ...view, verdict: 'error', message: (err as Error).message };
    }
  }

  async overview(now = Date.now()): Promise<OverviewView> {
    const reads = this.backend.reads;
    const hourBucket = 5 * 60_000;
    const [hour, day, stepLatencies] = await Promise.all([
      reads.activity(now - HOUR_MS, hourBucket),
      reads.activity(now - 24 * HOUR_MS, HOUR_MS),
      reads.stepLatencies(now - HOUR_MS),
    ]);
    return { now, lastHour: { buckets: hour, bucketMs: hourBucket }, lastDay: { buckets: day, bucketMs: HOUR_MS }, stepLatencies };
  }
}
