import type { Logger } from '@nestjs/common';
import { backoff } from '../common/backoff.util';
import { delay } from '../common/delay.util';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';

/**
 * Runs `read` until it succeeds, waiting out an unavailable database (backoff, each retry
 * logged) for work that must happen (a claimed workflow must start). Any other error, or the
 * process stopping (`stop`), ends it.
 */
export async function untilAvailable<T>(what: string, stop: AbortSignal, logger: Logger, read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (!(err instanceof DbosDatabaseUnavailableError) || stop.aborted) throw err;
      const wait = backoff(attempt);
      logger.warn(`Could not read ${what} (attempt ${attempt}), retrying in ${wait} ms: ${(err as Error).message}`);
      await delay(wait, stop);
    }
  }
}
