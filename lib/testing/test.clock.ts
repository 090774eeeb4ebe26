import { setLongTimeout } from '../common/delay.util';
import type { WorkflowClock } from '../common/clock';
import { currentWorkflowContext } from '../context/workflow-context.storage';

interface Timer {
  at: number;
  fire: () => void;
  /** The workflow that waits on it (a sleep, a recv/getEvent deadline), if any. */
  waiter?: string;
  cancelReal: () => void;
}

/**
 * Real time plus an offset that only grows: timers fire when real time reaches them, or at once
 * when `moveTo` passes them. Knows which workflows wait on it (see WorkflowClock.wait).
 */
export class TestClock implements WorkflowClock {
  private offset = 0;
  private readonly timers = new Set<Timer>();

  now(): number {
    return Date.now() + this.offset;
  }

  schedule(at: number, fire: () => void): () => void {
    return this.add(at, fire, undefined);
  }

  wait(at: number, wake: () => void): () => void {
    return this.add(at, wake, currentWorkflowContext()?.run.workflowId ?? undefined);
  }

  /** Moves the clock forward to `at` (never back); fires nothing by itself. */
  moveTo(at: number): void {
    this.offset = Math.max(this.offset, at - Date.now());
  }

  /** The earliest timer due at or before `until`. */
  nextDue(until: number): Timer | undefined {
    let next: Timer | undefined;
    for (const timer of this.timers) if (timer.at <= until && (!next || timer.at < next.at)) next = timer;
    return next;
  }

  fire(timer: Timer): void {
    if (!this.timers.delete(timer)) return;
    timer.cancelReal();
    timer.fire();
  }

  /** The workflows waiting on the clock (on time, a message or another workflow), with how many waits each. */
  blockedWorkflows(): Set<string> {
    const ids = new Set<string>();
    for (const timer of this.timers) if (timer.waiter !== undefined) ids.add(timer.waiter);
    return ids;
  }

  private add(at: number, fire: () => void, waiter: string | undefined): () => void {
    const timer: Timer = { at, fire, waiter, cancelReal: () => undefined };
    this.timers.add(timer);
    if (at !== Infinity) timer.cancelReal = setLongTimeout(() => this.fire(timer), at - this.now(), true);
    return () => {
      this.timers.delete(timer);
      timer.cancelReal();
    };
  }
}
