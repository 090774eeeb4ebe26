import type { StepDecoratorOptions } from '../interfaces/workflow-options.interface';

/** What is wrong with a step's `timeoutMs` or `retries.retryIf`, or undefined when they can be used. */
export function stepOptionsProblem(options: StepDecoratorOptions): string | undefined {
  const { timeoutMs, retries } = options;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    return `timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}; leave it out for no deadline`;
  }
  if (retries?.retryIf !== undefined && typeof retries.retryIf !== 'function') {
    return `retries.retryIf must be a function (error, attempt) => boolean, got ${typeof retries.retryIf}`;
  }
  return undefined;
}
