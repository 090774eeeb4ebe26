import type { Logger } from '@nestjs/common';
import type { RetryOptions } from '../interfaces/workflow-options.interface';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it succeeds or the attempts run out; the last error is thrown. */
export async function withRetries<T>(
  label: string,
  retries: RetryOptions | undefined,
  logger: Logger,
  attempt: () => Promise<T>,
): Promise<T> {
  const maxAttempts = retries ? Math.max(1, retries.maxAttempts ?? 3) : 1;
  let interval = retries?.intervalMs ?? 1000;
  const backoff = retries?.backoffRate ?? 2;
  const maxInterval = retries?.maxIntervalMs ?? 60_000;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= maxAttempts) throw err;
      logger.warn(`${label} failed (attempt ${n}/${maxAttempts}), retrying in ${interval} ms: ${(err as Error)?.message ?? err}`);
      await sleep(interval);
      interval = Math.min(interval * backoff, maxInterval);
    }
  }
}
