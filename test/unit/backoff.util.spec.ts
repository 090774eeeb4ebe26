import { backoff } from '../../lib/common/backoff.util';

/** Many draws of `backoff(attempt)` (it is jittered). */
const draws = (attempt: number) => Array.from({ length: 500 }, () => backoff(attempt));

describe('backoff (capped, jittered exponential)', () => {
  it('waits between 50 and 100 ms after the first attempt', () => {
    for (const ms of draws(1)) {
      expect(ms).toBeGreaterThanOrEqual(50);
      expect(ms).toBeLessThanOrEqual(100);
    }
  });

  it('doubles the range with each attempt', () => {
    for (const [attempt, base] of [
      [2, 200],
      [3, 400],
      [5, 1_600],
    ] as const) {
      for (const ms of draws(attempt)) {
        expect(ms).toBeGreaterThanOrEqual(base / 2);
        expect(ms).toBeLessThanOrEqual(base);
      }
    }
  });

  it('never waits more than 5 s, however many attempts failed', () => {
    for (const attempt of [7, 8, 20, 1_000]) {
      for (const ms of draws(attempt)) {
        expect(ms).toBeGreaterThanOrEqual(2_500);
        expect(ms).toBeLessThanOrEqual(5_000);
      }
    }
  });

  it('spreads the waits of processes that failed together (jitter)', () => {
    expect(new Set(draws(4)).size).toBeGreaterThan(50);
  });
});
