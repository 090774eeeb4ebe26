import { setLongTimeout } from './delay.util';

/**
 * The module's workflow time: what durable sleeps, recv/getEvent timeouts, workflow deadlines,
 * queue delays, cron ticks and `DbosContext.now()` read. Infrastructure time (heartbeats, leases,
 * polling, retries, connection timeouts) never goes through it.
 */
export interface WorkflowClock {
  /** Epoch ms on this clock. */
  now(): number;
  /** Calls `fire` once this clock reaches `at` (epoch ms). Returns a function that cancels it. */
  schedule(at: number, fire: () => void): () => void;
  /**
   * Like `schedule`, for a workflow that waits (on time, or on a message with `at` = Infinity):
   * until `wake` is called or the wait cancelled, the workflow is blocked on the clock.
   */
  wait(at: number, wake: () => void): () => void;
}

/** Date.now() and timers (long ones in steps, see setLongTimeout): the clock of every real deployment. */
export const realClock: WorkflowClock = {
  now: () => Date.now(),
  schedule: (at, fire) => setLongTimeout(fire, at - Date.now(), true),
  wait: (at, wake) => (at === Infinity ? () => undefined : setLongTimeout(wake, at - Date.now())),
};

/** Waits until `clock` reaches `at` (nothing when it has); rejects with the signal's reason if it aborts first. */
export function sleepUntil(clock: WorkflowClock, at: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (at <= clock.now()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(signal!.reason);
    };
    const cancel = clock.wait(at, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `promise`, with the calling workflow counted as blocked (on another workflow) until it settles. */
export function awaitingOther<T>(clock: WorkflowClock, promise: Promise<T>): Promise<T> {
  const cancel = clock.wait(Infinity, () => undefined);
  return promise.finally(cancel);
}
