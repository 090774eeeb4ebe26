import { setMaxListeners } from 'node:events';
import type { WorkflowRegistration } from '../discovery/workflow.registry';
import type { WorkflowStatusRow } from '../system-database/system.rows';
import { DbosShutdownInterrupt } from './shutdown-interrupt.error';
import type { WorkflowRun } from './workflow.run';

/** A start found its id PENDING on this executor with nothing running it here. */
export type OrphanedStartListener = (row: WorkflowStatusRow, registration: WorkflowRegistration) => void;

/**
 * The workflows this process runs, is about to run (launching) or is starting, with what the
 * queues and the shutdown need to know about them, and whether the process still takes work.
 * No database access: only bookkeeping.
 */
export class RunningWorkflows {
  private readonly running = new Map<string, WorkflowRun>();
  /** Workflows between "claimed here" and running (reading their checkpoints). */
  private readonly launching = new Set<string>();
  /** Starts in flight per workflow id (between the insert and the launch). */
  private readonly starting = new Map<string, number>();
  private readonly slotListeners: ((queueName: string) => void)[] = [];
  private readonly orphanListeners: OrphanedStartListener[] = [];
  private readonly stopping = new AbortController();
  /** Roots of the cancels (and timeouts) this process is making now, with how many are in flight. */
  private readonly cancelling = new Map<string, number>();

  constructor() {
    // Every waiting workflow listens to it: thousands of listeners are expected, not a leak.
    setMaxListeners(0, this.stopping.signal);
  }

  /** Aborted when the process stops taking work: long waits end with DbosShutdownInterrupt. */
  get stopSignal(): AbortSignal {
    return this.stopping.signal;
  }

  get isAccepting(): boolean {
    return !this.stopping.signal.aborted;
  }

  /**
   * Shutdown has begun: no new work, no new step, and no failure from now on is recorded as an
   * outcome (the clients steps use may be closing): the workflows stay PENDING for the next start.
   */
  stopTakingWork(): void {
    if (!this.stopping.signal.aborted) this.stopping.abort(new DbosShutdownInterrupt());
  }

  assertAccepting(): void {
    if (!this.isAccepting) throw new DbosShutdownInterrupt();
  }

  get(workflowId: string): WorkflowRun | undefined {
    return this.running.get(workflowId);
  }

  /** Adds a run that began; it leaves the table (and frees its queue slot) when its result settles. */
  add(run: WorkflowRun): void {
    this.running.set(run.workflowId, run);
    const forget = () => {
      run.release();
      this.running.delete(run.workflowId);
      if (run.queueName !== null) for (const listener of this.slotListeners) listener(run.queueName);
    };
    run.result.then(forget, forget);
  }

  /** See WorkflowRun.isFinishing. */
  isFinishing(workflowId: string): boolean {
    return this.running.get(workflowId)?.isFinishing === true;
  }

  isLaunching(workflowId: string): boolean {
    return this.launching.has(workflowId);
  }

  /** True while this process runs the workflow or is launching it. */
  hasRunner(workflowId: string): boolean {
    return this.running.has(workflowId) || this.launching.has(workflowId);
  }

  /** True while this process runs the workflow, is about to, or is starting it. */
  isBusy(workflowId: string): boolean {
    return this.hasRunner(workflowId) || this.starting.has(workflowId);
  }

  /** Starts of this id in flight in this process. */
  startsInFlight(workflowId: string): number {
    return this.starting.get(workflowId) ?? 0;
  }

  /** Marks the workflow as launching while `work` runs (claiming it, reading its checkpoints). */
  async whileLaunching<T>(workflowId: string, work: () => Promise<T>): Promise<T> {
    this.launching.add(workflowId);
    try {
      return await work();
    } finally {
      this.launching.delete(workflowId);
    }
  }

  /** Counts a start of this id as in flight while `work` runs (between its insert and its launch). */
  whileStarting<T>(workflowId: string, work: () => Promise<T>): Promise<T> {
    return whileCounted(this.starting, [workflowId], work);
  }

  /**
   * Marks the cancel of these roots (with their trees) as made here while `work` runs: the NOTIFY
   * of its commit can reach this process before `work` returns, and that status change is then
   * this process's own, stopped and reported by `work`, not a cancel by another process.
   */
  whileCancelling<T>(roots: string[], work: () => Promise<T>): Promise<T> {
    return whileCounted(this.cancelling, roots, work);
  }

  /** True while a cancel made here covers the workflow (as a root, or through its `cancelRoot`). */
  isCancellingHere(workflowId: string, cancelRoot: string | null): boolean {
    return this.cancelling.has(workflowId) || (cancelRoot !== null && this.cancelling.has(cancelRoot));
  }

  /** Workflows being launched or started here (not running yet). */
  get inFlight(): number {
    return this.launching.size + this.starting.size;
  }

  ids(): string[] {
    return [...this.running.keys()];
  }

  get size(): number {
    return this.running.size;
  }

  /** Workflows of `queueName` running in this process (its worker concurrency). */
  runningOnQueue(queueName: string): number {
    let count = 0;
    for (const entry of this.running.values()) if (entry.queueName === queueName) count++;
    return count;
  }

  /** Called whenever a queued workflow running here ends: its slot is free. */
  onSlotFreed(listener: (queueName: string) => void): void {
    this.slotListeners.push(listener);
  }

  onOrphanedStart(listener: OrphanedStartListener): void {
    this.orphanListeners.push(listener);
  }

  reportOrphanedStart(row: WorkflowStatusRow, registration: WorkflowRegistration): void {
    for (const listener of this.orphanListeners) listener(row, registration);
  }

  /** Stops the local run of the workflow, if any, with `reason`. */
  abort(workflowId: string, reason: Error): void {
    this.running.get(workflowId)?.stop(reason);
  }

  /** Waits until every run ends or `timeoutMs` passes; false on timeout. */
  async drain(timeoutMs: number): Promise<boolean> {
    const running = [...this.running.values()].map((run) => run.result.catch(() => undefined));
    if (running.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([Promise.all(running), timeout]);
    clearTimeout(timer);
    return outcome !== 'timeout';
  }
}

/** Counts each key once more in `counts` while `work` runs (several at once may hold one key). */
async function whileCounted<T>(counts: Map<string, number>, keys: string[], work: () => Promise<T>): Promise<T> {
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  try {
    return await work();
  } finally {
    for (const key of keys) {
      const left = counts.get(key)! - 1;
      if (left === 0) counts.delete(key);
      else counts.set(key, left);
    }
  }
}
