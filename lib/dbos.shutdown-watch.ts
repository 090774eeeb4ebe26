import type { DiscoveryService } from '@nestjs/core';

const HOOKS = ['onModuleDestroy', 'beforeApplicationShutdown'] as const;

/**
 * Tells the module that shutdown has begun at the first moment Nest begins it, so no failure
 * after that is recorded as a step's outcome. Nest calls every module's `onModuleDestroy` before
 * any `beforeApplicationShutdown`, and a global module such as this one last: the clients that
 * steps use (HTTP agents, Redis, SMTP) are closed by the app's own hooks while steps still run.
 * So the app's own shutdown hooks are wrapped to say "shutdown began" before they run. (Signals
 * are not watched: an app may handle SIGHUP or SIGTERM without shutting down, or keep serving a
 * while before `app.close()`; Nest's close runs the destroy hooks first in any case.)
 */
export class ShutdownWatch {
  private readonly restore: (() => void)[] = [];

  constructor(private readonly onShutdownBegins: () => void) {}

  watch(discovery: DiscoveryService): void {
    const instances = new Set<object>();
    for (const wrapper of [...discovery.getProviders(), ...discovery.getControllers()]) {
      if (wrapper.instance && typeof wrapper.instance === 'object' && wrapper.isDependencyTreeStatic()) instances.add(wrapper.instance);
    }
    for (const instance of instances) for (const hook of HOOKS) this.wrapHook(instance as Record<string, unknown>, hook);
  }

  private wrapHook(instance: Record<string, unknown>, hook: (typeof HOOKS)[number]): void {
    const original = instance[hook];
    if (typeof original !== 'function') return;
    const begins = this.onShutdownBegins;
    const hadOwn = Object.prototype.hasOwnProperty.call(instance, hook);
    const wrapped = function (this: unknown, ...args: unknown[]) {
      begins();
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    try {
      Object.defineProperty(instance, hook, { value: wrapped, configurable: true, writable: true });
    } catch {
      return; // a frozen instance keeps its hook; our own onModuleDestroy still says it, later
    }
    this.restore.push(() => {
      if (instance[hook] !== wrapped) return;
      if (hadOwn) instance[hook] = original;
      else delete instance[hook];
    });
  }

  /** Puts every wrapped hook back (at the end of shutdown). */
  unwatch(): void {
    for (const undo of this.restore.splice(0)) undo();
  }
}
