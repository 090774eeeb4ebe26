import type { Logger } from '@nestjs/common';
import { delay } from '../common/delay.util';
import type { RetryOptions } from '../interfaces/workflow-options.interface';

/**
 * Runs `attempt` until it succeeds or the attempts run out; the last error is thrown. A
 * cancellation or shutdown (`signal`) stops the retries, also during the wait between them.
 */
export async function withRetries<T>(
  label: string,
  retries: RetryOptions | undefined,
  logger: Logger,
  /** Called with the attempt's number, from 1. */
  attempt: (n: number) => Promise<T>,
  /** Read only when an attempt fails (a run makes its signal when first asked for it). */
  signalOf?: () => AbortSignal,
): Promise<T> {
  const maxAttempts = retries ? Math.max(1, retries.maxAttempts ?? 3) : 1;
  let interval = retries?.intervalMs ?? 1000;
  const backoff = retries?.backoffRate ?? 2;
  const maxInterval = retries?.maxIntervalMs ?? 60_000;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      const signal = signalOf?.();
      if (n >= maxAttempts || signal?.aborted) throw err;
      logger.warn(`${label} failed (attempt ${n}/${maxAttempts}), retrying in ${interval} ms: ${(err as Error)?.message ?? err}`);
      await delay(interval, signal);
      interval = Math.min(interval * backoff, maxInterval);
    }
  }
}
