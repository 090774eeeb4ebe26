/** setTimeout clamps delays above this to 1 ms; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `callback` after `ms`, however long that is (setTimeout alone fires at once past ~24.8
 * days). Returns a function that cancels it. With `unref`, the timer does not keep the process alive.
 */
export function setLongTimeout(callback: () => void, ms: number, unref = false): () => void {
  const due = Date.now() + ms;
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = due - Date.now();
    timer = setTimeout(left > MAX_TIMER_MS ? arm : callback, Math.max(0, Math.min(left, MAX_TIMER_MS)));
    if (unref) timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

/** Waits `ms` (nothing for ms <= 0); rejects with the signal's reason if it aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 && !signal?.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      cancel();
      reject(signal!.reason);
    };
    const cancel = setLongTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
