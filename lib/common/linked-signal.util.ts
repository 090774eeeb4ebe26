import { setMaxListeners } from 'node:events';

export interface LinkedSignal {
  /** Aborts when the first of the sources does, with that source's reason. */
  readonly signal: AbortSignal;
  /** Stops listening to the sources: after it, `signal` no longer follows them. */
  dispose(): void;
}

/**
 * Like AbortSignal.any(sources), but its hold on the sources ends at dispose(). On Node 20 every
 * AbortSignal.any() leaves an entry in each source for as long as that source lives, so combining
 * with a long-lived signal once per operation grows the heap without bound; link once, dispose once.
 */
export function linkSignals(...sources: AbortSignal[]): LinkedSignal {
  const controller = new AbortController();
  // Every concurrent step and wait of one run listens to it.
  setMaxListeners(0, controller.signal);
  const listeners: [AbortSignal, () => void][] = [];
  const dispose = () => {
    for (const [source, onAbort] of listeners.splice(0)) source.removeEventListener('abort', onAbort);
  };
  const aborted = sources.find((source) => source.aborted);
  if (aborted) {
    controller.abort(aborted.reason);
    return { signal: controller.signal, dispose };
  }
  for (const source of sources) {
    const onAbort = () => {
      dispose();
      controller.abort(source.reason);
    };
    source.addEventListener('abort', onAbort, { once: true });
    listeners.push([source, onAbort]);
  }
  return { signal: controller.signal, dispose };
}

/**
 * linkSignals(...sources), made on first use of `signal`: a run that never waits or retries (most
 * runs) creates no signal and adds no listener. After dispose(), a first use gets a signal that
 * no longer follows the sources (aborted if one of them was).
 */
export class LazyLinkedSignal {
  private linked?: LinkedSignal;
  private disposed = false;

  constructor(private readonly sources: AbortSignal[]) {}

  get signal(): AbortSignal {
    if (!this.linked) {
      this.linked = linkSignals(...this.sources);
      if (this.disposed) this.linked.dispose();
    }
    return this.linked.signal;
  }

  dispose(): void {
    this.disposed = true;
    this.linked?.dispose();
  }
}
