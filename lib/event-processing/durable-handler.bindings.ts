/** Handles the messages of one durable handler: the part of the module a decorated method calls. */
export interface DurableMessageRunner {
  handle(data: unknown, context: unknown): Promise<void>;
  /** A message that never reached the method (a pipe rejected it). */
  reject(data: unknown, context: unknown, error: unknown): Promise<void>;
}

type Pending = { runner?: DurableMessageRunner; ready: Promise<DurableMessageRunner>; resolve: (runner: DurableMessageRunner) => void };

/**
 * The runner of each decorated method (controllers are singletons; the app initialized last
 * wins). A hybrid app can start its microservices before the module initialized: their first
 * messages wait here until it has.
 */
const runners = new WeakMap<Function, Pending>();

function pendingOf(handler: Function): Pending {
  let pending = runners.get(handler);
  if (!pending) {
    let resolve!: (runner: DurableMessageRunner) => void;
    const ready = new Promise<DurableMessageRunner>((r) => (resolve = r));
    pending = { ready, resolve };
    runners.set(handler, pending);
  }
  return pending;
}

export function runnerOf(handler: Function): Promise<DurableMessageRunner> {
  const pending = pendingOf(handler);
  return pending.runner ? Promise.resolve(pending.runner) : pending.ready;
}

export function bindRunner(handler: Function, runner: DurableMessageRunner): void {
  const pending = pendingOf(handler);
  pending.runner = runner;
  pending.resolve(runner);
}
