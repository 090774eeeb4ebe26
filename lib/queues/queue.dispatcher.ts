import { Logger } from '@nestjs/common';
import type { WorkflowRegistry } from '../discovery/workflow.registry';
import type { RunningWorkflows } from '../execution/running-workflows.table';
import type { WorkflowExecutor } from '../execution/workflow.executor';
import type { QueueOptions } from '../interfaces/dbos-module-options.interface';
import { observeQueues, recordQueueWait } from '../observability/metrics';
import type { WorkflowStatusRow } from '../system-database/system.rows';
import type { NotificationListener } from '../system-database/notification.listener';
import type { QueueRepository } from '../system-database/queue.repository';
import type { QueueRegistry } from './queue.registry';
import { NOTICE_PREFIX } from '../system-database/system.names';
import { storedWorkflowLabel } from '../observability/log-label';

/** Most workflows one queue may claim in one pass, so one busy queue cannot starve the others. */
const CLAIM_PER_PASS = 100;
const IDLE_POLL_LISTENING_MS = 5_000;
const ERROR_BACKOFF_MS = 1_000;
const UNKNOWN_CHECK_INTERVAL_MS = 30_000;
/** Work due this long on a queue nobody runs anything of is reported: within a minute, at a 30 s check. */
const STALLED_QUEUE_AFTER_MS = 30_000;

/**
 * Starts queued workflows of this process's queues within their limits. Woken by NOTIFY when
 * work is enqueued or a slot frees anywhere, and locally when one of its own workflows ends;
 * polling remains only as a fallback.
 */
export class QueueDispatcher {
  private readonly logger = new Logger(QueueDispatcher.name);
  private dirty = true;
  /** The queues to look at in the next pass: those named by the wakes since the last one, or all of them. */
  private due: Set<string> | 'all' = 'all';
  /** When a delay or rate limit of some queue lifts next, as last computed. */
  private nextEligible: number | null = null;
  private stopped = true;
  private wakeSleeper?: () => void;
  private loop?: Promise<void>;
  private nextUnknownCheck = 0;
  private readonly reportedUnknown = new Set<string>();
  private readonly reportedStalled = new Set<string>();
  private subscribed = false;
  /** Stops reporting the queue gauges. */
  private unobserve?: () => void;

  constructor(
    private readonly repository: QueueRepository,
    private readonly executor: WorkflowExecutor,
    private readonly runs: RunningWorkflows,
    private readonly registry: WorkflowRegistry,
    private readonly queues: QueueRegistry,
    private readonly listener: NotificationListener,
  ) {}

  /** Starts claiming: woken by enqueues anywhere (NOTIFY), local slots freeing, and new queues. */
  start(): void {
    if (!this.subscribed) {
      this.subscribed = true;
      this.listener.onAny((key) => {
        if (key.startsWith(NOTICE_PREFIX.queue) && this.queues.has(key.slice(NOTICE_PREFIX.queue.length))) this.wake(key.slice(NOTICE_PREFIX.queue.length));
      });
      this.runs.onSlotFreed((queueName) => this.wake(queueName));
      this.queues.onRegistered(() => this.wake());
    }
    if (!this.stopped) return;
    this.stopped = false;
    this.unobserve = observeQueues(() => this.queueCounts());
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unobserve?.();
    this.wake();
    await this.loop;
  }

  /** Claims again soon: from `queueName` (work or a slot arrived there), or from every queue. */
  wake(queueName?: string): void {
    this.dirty = true;
    if (queueName === undefined) this.due = 'all';
    else if (this.due !== 'all') this.due.add(queueName);
    this.wakeSleeper?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.dirty = false;
      const due = this.due;
      this.due = new Set();
      let nextAt: number | null;
      let failed = false;
      try {
        nextAt = await this.pass(due);
      } catch (err) {
        this.logger.error(`Queue dispatch failed: ${(err as Error).message}`, (err as Error).stack);
        nextAt = null;
        failed = true;
        this.due = 'all';
      }
      if (this.dirty || this.stopped) continue;
      // A failed pass is retried after ERROR_BACKOFF_MS of real time.
      const idle = failed ? ERROR_BACKOFF_MS : this.listener.isListening ? IDLE_POLL_LISTENING_MS : this.listener.pollIntervalMs;
      // Woken, it looks at the queues named by the wakes; at a poll, or when a time-based limit lifts, at every queue.
      if (!(await this.sleep(idle, nextAt))) this.due = 'all';
    }
  }

  /**
   * One round over the due queues, their claims in parallel (an enqueue on one queue waits for no
   * claim on another); returns when a time-based limit (delay, rate) next lifts.
   */
  private async pass(due: Set<string> | 'all'): Promise<number | null> {
    if (!this.executor.isAccepting) return null;
    const names = this.registry.workflowNames();
    if (names.length === 0) return null;
    const all = this.queues.list();
    const queues = due === 'all' ? all : all.filter((q) => due.has(q.name));
    // Before the claims read the clock: a delay that runs out while they run is still ahead of it (see nextEligibleAt).
    const claimedAt = this.executor.clock.now();
    let limited = false;
    await Promise.all(
      queues.map(async (queue) => {
        const room = this.roomIn(queue);
        if (room <= 0) return;
        const max = Math.min(room, CLAIM_PER_PASS);
        const claimed = await this.repository.claim({
          queue,
          executorId: this.executor.settings.executorId,
          applicationVersion: this.executor.settings.applicationVersion,
          workflowNames: names,
          max,
        });
        if (claimed.length === max) this.wake(queue.name); // there may be more
        if (queue.rateLimit || claimed.length === 0) limited = true;
        await Promise.all(claimed.map(({ row, hasSteps }) => this.launch(row, hasSteps)));
      }),
    );
    await this.reportUnknownWorkflows(all, names);
    // A pass over some queues leaves the others' next time (a delay, a rate limit) as it was.
    if (limited) this.nextEligible = await this.repository.nextEligibleAt(all, claimedAt);
    else if (due === 'all') this.nextEligible = null;
    return this.nextEligible;
  }

  /** Queued work no process here can run stays queued; say so (once per queue and name), never crash on it. */
  private async reportUnknownWorkflows(queues: QueueOptions[], names: string[]): Promise<void> {
    if (Date.now() < this.nextUnknownCheck) return;
    this.nextUnknownCheck = Date.now() + UNKNOWN_CHECK_INTERVAL_MS;
    const unknown = await this.repository.unknownWorkflows(
      queues.map((q) => q.name),
      names,
    );
    await this.reportStalledQueues(queues);
    const current = new Set(unknown.map((u) => `${u.queue}\0${u.workflowName}`));
    for (const u of unknown) {
      const key = `${u.queue}\0${u.workflowName}`;
      if (this.reportedUnknown.has(key)) continue;
      this.reportedUnknown.add(key);
      this.logger.warn(
        `${u.count} workflow(s) named "${u.workflowName}" wait on queue "${u.queue}", but this process registers no workflow of that ` +
          `name; they stay ENQUEUED until a process that has it (and its application version) runs.`,
      );
    }
    for (const key of this.reportedUnknown) if (!current.has(key)) this.reportedUnknown.delete(key);
  }

  /** Work on a queue this process does not declare, which nothing has started from for a while: say so, once per queue. */
  private async reportStalledQueues(queues: QueueOptions[]): Promise<void> {
    const stalled = await this.repository.stalledQueues(
      queues.map((q) => q.name),
      STALLED_QUEUE_AFTER_MS,
    );
    for (const { queue, count } of stalled) {
      if (this.reportedStalled.has(queue)) continue;
      this.reportedStalled.add(queue);
      this.logger.warn(
        `${count} workflow(s) wait on queue "${queue}", which this process does not declare, and none of that queue has started ` +
          `for ${STALLED_QUEUE_AFTER_MS / 1000} s: no live process seems to declare it. Declare it (DbosModule.forRoot({ queues }) ` +
          `or QueueRegistry.register) in the app that runs its workflows; until then they stay ENQUEUED.`,
      );
    }
    const current = new Set(stalled.map((s) => s.queue));
    for (const queue of this.reportedStalled) if (!current.has(queue)) this.reportedStalled.delete(queue);
  }

  /** The counts of the queues with work, and 0 for the other queues this process declares (the gauges). */
  private async queueCounts(): Promise<{ queue: string; enqueued: number; running: number }[]> {
    const counts = await this.repository.stats();
    const idle = this.queues.list().filter((q) => !counts.some((c) => c.queue === q.name));
    return [...counts, ...idle.map((q) => ({ queue: q.name, enqueued: 0, running: 0 }))];
  }

  private roomIn(queue: QueueOptions): number {
    if (queue.workerConcurrency === undefined) return Number.MAX_SAFE_INTEGER;
    return queue.workerConcurrency - this.runs.runningOnQueue(queue.name);
  }

  private async launch(row: WorkflowStatusRow, hasSteps: boolean): Promise<void> {
    const registration = this.registry.getWorkflow(row.workflowName);
    if (!registration) return; // claims are filtered by registered names
    if (row.queueName !== null && row.recoveryAttempts === 0) recordQueueWait(row.queueName, (row.startedAt ?? Date.now()) - row.createdAt);
    // Claimed means PENDING here; launching waits out database blips itself.
    try {
      await this.executor.launchFromCheckpoints(registration, row, hasSteps);
    } catch (err) {
      if (!this.executor.isAccepting) return; // shutting down: it resumes at this executor's next start
      this.logger.error(
        `${storedWorkflowLabel(row)}: could not start it from queue "${row.queueName}": ${(err as Error).message}; it resumes at this executor's next start.`,
      );
    }
  }

  /** True when a wake ended it, false when the poll interval ran out or the module's clock reached `nextAt`. */
  private sleep(pollMs: number, nextAt: number | null): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), pollMs);
      const cancelDue = nextAt === null ? undefined : this.executor.clock.schedule(nextAt, () => done(false));
      const done = (woken: boolean) => {
        clearTimeout(timer);
        cancelDue?.();
        this.wakeSleeper = undefined;
        resolve(woken);
      };
      this.wakeSleeper = () => done(true);
    });
  }
}
