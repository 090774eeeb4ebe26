import { DbosConfigurationError } from '../errors/configuration.error';
import { DbosQueueNotDeclaredError } from '../errors/queue-not-declared.error';
import type { QueueOptions } from '../interfaces/dbos-module-options.interface';
import { INTERNAL_QUEUE } from '../system-database/system.names';

/**
 * The queues this process knows: declared in `forRoot({ queues })` or registered at runtime
 * (`app.get(QueueRegistry).register(...)`). Starts on an unknown queue are refused; the
 * dispatcher claims work of these queues only.
 */
export class QueueRegistry {
  private readonly queues = new Map<string, QueueOptions>();
  private readonly listeners: ((queue: QueueOptions) => void)[] = [];

  constructor(queues: QueueOptions[] = []) {
    this.register({ name: INTERNAL_QUEUE });
    for (const queue of queues) this.register(queue);
  }

  /** Declares a queue; the same name twice must come with the same options. */
  register(queue: QueueOptions): void {
    validateQueue(queue);
    const existing = this.queues.get(queue.name);
    if (existing && JSON.stringify(existing) !== JSON.stringify(queue)) {
      throw new DbosConfigurationError(`Queue "${queue.name}" is already registered with other options.`);
    }
    this.queues.set(queue.name, { ...queue });
    for (const listener of this.listeners) listener(queue);
  }

  get(name: string): QueueOptions | undefined {
    return this.queues.get(name);
  }

  /** The queue, or DbosQueueNotDeclaredError (a configuration error) that says how to declare it. */
  require(name: string): QueueOptions {
    const queue = this.queues.get(name);
    if (!queue) throw new DbosQueueNotDeclaredError(name);
    return queue;
  }

  has(name: string): boolean {
    return this.queues.has(name);
  }

  list(): QueueOptions[] {
    return [...this.queues.values()];
  }

  /** Called after each registration (the dispatcher wakes to claim from it). */
  onRegistered(listener: (queue: QueueOptions) => void): void {
    this.listeners.push(listener);
  }
}

/** Limits must be positive integers; a queue needs a name. */
export function validateQueue(queue: QueueOptions): void {
  const positive = (value: number | undefined, what: string) => {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new DbosConfigurationError(`Queue "${queue.name}": ${what} must be a positive integer, got ${value}.`);
    }
  };
  if (!queue.name) throw new DbosConfigurationError('A queue needs a name.');
  positive(queue.concurrency, 'concurrency');
  positive(queue.workerConcurrency, 'workerConcurrency');
  positive(queue.partitionConcurrency, 'partitionConcurrency');
  if (queue.rateLimit) {
    positive(queue.rateLimit.limit, 'rateLimit.limit');
    positive(queue.rateLimit.periodMs, 'rateLimit.periodMs');
  }
}
