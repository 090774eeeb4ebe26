import type { Logger } from '@nestjs/common';
import { delay } from '../common/delay.util';
import type { RetryOptions } from '../interfaces/workflow-options.interface';

/**
 * Runs `attempt` until it succeeds, the attempts run out or `retries.retryIf` refuses an error;
 * the last error is thrown. A cancellation or shutdown (`signal`) stops the retries, also during
 * the wait between them.
 */
export async function withRetries<T>(
  /** How the log lines name the step; made only when one is written. */
  labelOf: () => string,
  retries: RetryOptions | undefined,
  logger: Logger,
  /** Called with the attempt's number, from 1. */
  attempt: (n: number) => Promise<T>,
  /** Read only when an attempt fails (a run makes its signal when first asked for it). */
  signalOf?: () => AbortSignal,
  /** Told of each attempt that threw (not of one a cancel or shutdown stopped), when there are retries; awaited (it deals with its own failure). */
  onFailedAttempt?: (n: number, err: unknown, startedAt: number) => Promise<void>,
): Promise<T> {
  const maxAttempts = retries ? Math.max(1, retries.maxAttempts ?? 3) : 1;
  let interval = retries?.intervalMs ?? 1000;
  const backoff = retries?.backoffRate ?? 2;
  const maxInterval = retries?.maxIntervalMs ?? 60_000;
  for (let n = 1; ; n++) {
    const startedAt = Date.now();
    try {
      return await attempt(n);
    } catch (err) {
      const signal = signalOf?.();
      if (maxAttempts > 1 && !signal?.aborted) await onFailedAttempt?.(n, err, startedAt);
      if (n >= maxAttempts || signal?.aborted) throw err;
      if (!(await mayRetry(labelOf(), retries, logger, err, n))) throw err;
      logger.warn(`${labelOf()} failed (attempt ${n}/${maxAttempts}), retrying in ${interval} ms: ${(err as Error)?.message ?? err}`);
      await delay(interval, signal);
      interval = Math.min(interval * backoff, maxInterval);
    }
  }
}

/** What `retries.retryIf` says of `err` (true without one); a predicate that throws refuses, and its failure is logged. */
async function mayRetry(label: string, retries: RetryOptions | undefined, logger: Logger, err: unknown, n: number): Promise<boolean> {
  if (!retries?.retryIf) return true;
  try {
    if (await retries.retryIf(err, n)) return true;
    logger.warn(`${label} failed (attempt ${n}), not retried (retryIf refused it): ${(err as Error)?.message ?? err}`);
    return false;
  } catch (predicateErr) {
    logger.error(
      `${label}: retries.retryIf threw on the error of attempt ${n}, so the step fails with that error: ${(predicateErr as Error)?.message ?? predicateErr}`,
      (predicateErr as Error)?.stack,
    );
    return false;
  }
}
