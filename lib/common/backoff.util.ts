export interface BackoffOptions {
  /** The first wait. Default 100 ms. */
  firstMs?: number;
  /** The longest wait. Default 5 s. */
  maxMs?: number;
  /** Wait any fraction of the step (spreads contending retries most); default: between half and all of it. */
  fullJitter?: boolean;
}

/** Capped, jittered exponential backoff: by default 100 ms doubling to 5 s. */
export function backoff(attempt: number, options: BackoffOptions = {}): number {
  const { firstMs = 100, maxMs = 5_000, fullJitter = false } = options;
  const base = Math.min(firstMs * 2 ** (attempt - 1), maxMs);
  return Math.round(base * (fullJitter ? Math.random() : 0.5 + Math.random() * 0.5));
}
