/**
 * An error with its `cause` chain, bounded: what a log line, a status in JSON and the CLI show of
 * a recorded error. `TypeError: fetch failed` alone says nothing; its cause (`ECONNREFUSED ...`) does.
 */

/** Causes followed below an error; a longer (or circular) chain is cut there. */
export const MAX_CAUSES = 5;
/** Longest message kept per error of the chain. */
export const MAX_CAUSE_MESSAGE = 500;

/** An error as `{ name, message, code?, cause? }`: plain data, bounded in depth and size. */
export interface ErrorSummary {
  name: string;
  message: string;
  code?: string | number;
  cause?: ErrorSummary;
}

/** The error and its causes, outermost first: at most 1 + MAX_CAUSES entries, each seen once. */
export function errorChain(error: unknown): ErrorSummary[] {
  const chain: ErrorSummary[] = [];
  const seen = new Set<unknown>();
  for (let current: unknown = error; current !== undefined && current !== null && !seen.has(current); current = causeOf(current)) {
    seen.add(current);
    chain.push(summaryOf(current));
    if (chain.length > MAX_CAUSES) break;
  }
  return chain;
}

/** The chain as nested `{ name, message, code?, cause? }`. */
export function errorSummary(error: unknown): ErrorSummary {
  const chain = errorChain(error);
  for (let i = chain.length - 2; i >= 0; i--) chain[i].cause = chain[i + 1];
  return chain[0] ?? { name: 'Error', message: String(error) };
}

/** `TypeError: fetch failed; caused by Error: connect ECONNREFUSED 127.0.0.1:1 [ECONNREFUSED]`, on one line. */
export function describeWithCauses(error: unknown): string {
  return errorChain(error)
    .map(({ name, message, code }) => `${name}: ${message}${code === undefined || message.includes(String(code)) ? '' : ` [${code}]`}`)
    .join('; caused by ')
    .replace(/\s*[\r\n]+\s*/g, ' ');
}

function causeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { cause?: unknown }).cause : undefined;
}

function summaryOf(error: unknown): ErrorSummary {
  if (typeof error !== 'object' || error === null) return { name: 'Error', message: bounded(String(error)) };
  const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
  const summary: ErrorSummary = {
    name: typeof name === 'string' && name ? name : 'Error',
    message: bounded(typeof message === 'string' ? message : String(message ?? '')),
  };
  if (typeof code === 'string' || typeof code === 'number') summary.code = code;
  return summary;
}

function bounded(message: string): string {
  return message.length <= MAX_CAUSE_MESSAGE ? message : `${message.slice(0, MAX_CAUSE_MESSAGE - 1)}…`;
}
