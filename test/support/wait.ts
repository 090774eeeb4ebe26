export interface WaitOptions {
  /** What is awaited, for the failure message. */
  what?: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Resolves once `condition` holds, checking every `intervalMs`; fails after `timeoutMs`, naming
 * what was awaited. Options as an object, or (the older form) the timeout and interval alone.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, options: WaitOptions | number = {}, interval?: number): Promise<void> {
  const { what = 'condition', timeoutMs = 10_000, intervalMs = interval ?? 10 } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Waits `ms` for something that must NOT happen (a duplicate run, a late redelivery, a wake) to
 * have the chance to show: a fixed window on purpose, as an absence has no moment to wait for.
 * `couldShow` says what would show, for the reader. Wait first for what must precede it.
 */
export function quietPeriod(ms: number, couldShow: string): Promise<void> {
  void couldShow;
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The largest number of [start, end] intervals that overlap at one instant. */
export function maxOverlap(intervals: [number, number][]): number {
  const events = intervals.flatMap(([s, e]) => [[s, 1] as const, [e, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let max = 0;
  for (const [, delta] of events) max = Math.max(max, (current += delta));
  return max;
}
