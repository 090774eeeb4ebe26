/** Capped, jittered exponential backoff: 100 ms doubling to 5 s. */
export function backoff(attempt: number): number {
  const base = Math.min(100 * 2 ** (attempt - 1), 5_000);
  return Math.round(base * (0.5 + Math.random() * 0.5));
}
