import { setLongTimeout } from '../common/delay.util';
import { linkSignals } from '../common/linked-signal.util';
import { DbosTimeoutError } from '../errors/timeout.error';

/**
 * Runs one attempt of a step under its own deadline (`timeoutMs` of real time; none when
 * undefined). `attempt` gets a signal that aborts at the deadline and when `parent` does (the
 * workflow cancelled or timed out). Once that signal aborts, the returned promise rejects with its
 * reason (`timedOut()` at the deadline), whether or not the attempt settles: the attempt is
 * abandoned, and what it returns or throws later reaches no one (JavaScript cannot stop its
 * code; only its signal tells it).
 */
export function withinDeadline<T>(
  timeoutMs: number | undefined,
  parent: AbortSignal,
  timedOut: () => Error,
  attempt: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (timeoutMs === undefined) return attempt(parent);
  const deadline = new AbortController();
  // Disposed when it aborts (it then stops following `parent`), or when the attempt settles in time.
  const linked = linkSignals(parent, deadline.signal);
  if (linked.signal.aborted) return Promise.reject(linked.signal.reason);
  return new Promise<T>((resolve, reject) => {
    const disarm = setLongTimeout(() => deadline.abort(timedOut()), timeoutMs);
    const abandon = () => {
      disarm();
      reject(linked.signal.reason);
    };
    linked.signal.addEventListener('abort', abandon, { once: true });
    const settle = () => {
      disarm();
      linked.signal.removeEventListener('abort', abandon);
      linked.dispose();
    };
    attempt(linked.signal).then(
      (value) => {
        settle();
        resolve(value);
      },
      (err: unknown) => {
        settle();
        reject(err);
      },
    );
  });
}

/** The error of a step attempt that passed its deadline: what the step records if it is not retried. */
export function stepTimedOut(workflowId: string, stepId: number, stepName: string, attempt: number, timeoutMs: number): DbosTimeoutError {
  return new DbosTimeoutError(
    workflowId,
    `step ${stepId} (${stepName}) attempt ${attempt} did not finish within its timeoutMs of ${timeoutMs} ms; the attempt was abandoned (its signal aborted) and its late result is ignored.`,
  );
}
