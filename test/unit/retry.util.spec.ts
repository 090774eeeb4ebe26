import type { Logger } from '@nestjs/common';
import { withRetries } from '../../lib/execution/retry.util';
import type { RetryOptions } from '../../lib/interfaces/workflow-options.interface';

/** A logger that keeps its warnings. */
function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = { warn: (message: string) => warnings.push(message), error: (message: string) => warnings.push(`error: ${message}`) };
  return { logger: logger as unknown as Logger, warnings };
}

/** An operation that fails `failures` times, then answers 'ok'; it records when each attempt ran. */
function flaky(failures: number): { attempt: () => Promise<string>; times: number[] } {
  const times: number[] = [];
  return {
    times,
    attempt: async () => {
      times.push(Date.now());
      if (times.length <= failures) throw new Error(`failure ${times.length}`);
      return 'ok';
    },
  };
}

/** Runs `withRetries` under fake timers to the end; resolves with its outcome. */
async function runToEnd(retries: RetryOptions | undefined, failures: number, signal?: AbortSignal) {
  const { logger, warnings } = recordingLogger();
  const op = flaky(failures);
  const started = Date.now();
  const outcome = withRetries(() => 'charge', retries, logger, op.attempt, signal && (() => signal)).then(
    (value) => ({ value }),
    (error: Error) => ({ error }),
  );
  await jest.runAllTimersAsync();
  return { ...(await outcome), warnings, attempts: op.times.length, gaps: op.times.map((t, i) => t - (op.times[i - 1] ?? started)) };
}

describe('withRetries', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('answers the first success without retrying', async () => {
    const run = await runToEnd({ maxAttempts: 3 }, 0);
    expect(run).toMatchObject({ value: 'ok', attempts: 1, warnings: [] });
  });

  it('without retry options, runs once and throws its error', async () => {
    const run = await runToEnd(undefined, 1);
    expect(run.attempts).toBe(1);
    expect(run).toMatchObject({ error: new Error('failure 1') });
  });

  it('retries until an attempt succeeds', async () => {
    const run = await runToEnd({ maxAttempts: 5, intervalMs: 10 }, 3);
    expect(run).toMatchObject({ value: 'ok', attempts: 4 });
  });

  it('throws the last error once maxAttempts attempts failed', async () => {
    const run = await runToEnd({ maxAttempts: 3, intervalMs: 10 }, 10);
    expect(run.attempts).toBe(3);
    expect(run).toMatchObject({ error: new Error('failure 3') });
  });

  it('defaults to 3 attempts, 1 s apart and doubling', async () => {
    const run = await runToEnd({}, 10);
    expect(run.gaps).toEqual([0, 1_000, 2_000]);
  });

  it('waits intervalMs, then intervalMs times backoffRate each time, up to maxIntervalMs', async () => {
    const run = await runToEnd({ maxAttempts: 6, intervalMs: 100, backoffRate: 3, maxIntervalMs: 2_000 }, 10);
    expect(run.gaps).toEqual([0, 100, 300, 900, 2_000, 2_000]);
  });

  it('counts a maxAttempts below 1 as one attempt', async () => {
    const run = await runToEnd({ maxAttempts: 0 }, 10);
    expect(run.attempts).toBe(1);
  });

  it('logs each retry with its counter, its wait and the error', async () => {
    const run = await runToEnd({ maxAttempts: 3, intervalMs: 100, backoffRate: 2 }, 10);
    expect(run.warnings).toEqual(['charge failed (attempt 1/3), retrying in 100 ms: failure 1', 'charge failed (attempt 2/3), retrying in 200 ms: failure 2']);
  });

  it('stops retrying when the signal aborts during the wait, with the reason of the signal', async () => {
    const abort = new AbortController();
    const cancelled = new Error('workflow cancelled');
    setTimeout(() => abort.abort(cancelled), 500);
    const run = await runToEnd({ maxAttempts: 10, intervalMs: 1_000 }, 10, abort.signal);
    expect(run.attempts).toBe(1);
    expect(run).toMatchObject({ error: cancelled });
  });

  it('does not retry after the signal aborted, and throws the error of the attempt', async () => {
    const abort = new AbortController();
    abort.abort(new Error('shutdown'));
    const run = await runToEnd({ maxAttempts: 10, intervalMs: 10 }, 10, abort.signal);
    expect(run.attempts).toBe(1);
    expect(run).toMatchObject({ error: new Error('failure 1') });
  });

  it('fails at once with the error retryIf refuses, after one attempt', async () => {
    const seen: [string, number][] = [];
    const run = await runToEnd({ maxAttempts: 5, intervalMs: 10, retryIf: (err, n) => (seen.push([(err as Error).message, n]), false) }, 10);
    expect(run).toMatchObject({ attempts: 1, error: new Error('failure 1') });
    expect(seen).toEqual([['failure 1', 1]]);
    expect(run.warnings).toEqual(['charge failed (attempt 1), not retried (retryIf refused it): failure 1']);
  });

  it('retries what retryIf accepts, also when it answers with a promise', async () => {
    const run = await runToEnd({ maxAttempts: 5, intervalMs: 10, retryIf: async (err) => (err as Error).message !== 'failure 3' }, 10);
    expect(run).toMatchObject({ attempts: 3, error: new Error('failure 3') });
  });

  it('is not asked after the last attempt', async () => {
    const retryIf = jest.fn(() => true);
    const run = await runToEnd({ maxAttempts: 2, intervalMs: 10, retryIf }, 10);
    expect(run.attempts).toBe(2);
    expect(retryIf).toHaveBeenCalledTimes(1);
  });

  it('a retryIf that throws fails the step with the attempt error, and its failure is logged', async () => {
    const run = await runToEnd(
      {
        maxAttempts: 5,
        intervalMs: 10,
        retryIf: () => {
          throw new Error('predicate bug');
        },
      },
      10,
    );
    expect(run).toMatchObject({ attempts: 1, error: new Error('failure 1') });
    expect(run.warnings).toEqual([expect.stringMatching(/^error: charge: retries.retryIf threw .*: predicate bug$/)]);
  });
});
