import { DbosConfigurationError } from '../../lib';
import { QueueRegistry, validateQueue } from '../../lib/queues/queue.registry';
import { INTERNAL_QUEUE } from '../../lib/system-database/system.names';

describe('validateQueue', () => {
  it('accepts a queue with a name and positive integer limits', () => {
    expect(() =>
      validateQueue({
        name: 'emails',
        concurrency: 10,
        workerConcurrency: 2,
        partitioned: true,
        partitionConcurrency: 1,
        rateLimit: { limit: 50, periodMs: 1_000 },
      }),
    ).not.toThrow();
  });

  it('accepts a queue with a name only (no limits)', () => {
    expect(() => validateQueue({ name: 'emails' })).not.toThrow();
  });

  it('refuses a queue without a name', () => {
    expect(() => validateQueue({ name: '' })).toThrow(new DbosConfigurationError('A queue needs a name.'));
  });

  it.each([
    ['concurrency', { concurrency: 0 }, 'concurrency must be a positive integer, got 0'],
    ['workerConcurrency', { workerConcurrency: -1 }, 'workerConcurrency must be a positive integer, got -1'],
    ['partitionConcurrency', { partitionConcurrency: 1.5 }, 'partitionConcurrency must be a positive integer, got 1.5'],
    ['rateLimit.limit', { rateLimit: { limit: 0, periodMs: 1_000 } }, 'rateLimit.limit must be a positive integer, got 0'],
    ['rateLimit.periodMs', { rateLimit: { limit: 5, periodMs: Number.NaN } }, 'rateLimit.periodMs must be a positive integer, got NaN'],
  ])('refuses a %s that is not a positive integer, naming the queue and the value', (_field, limits, message) => {
    const validate = () => validateQueue({ name: 'emails', ...limits });
    expect(validate).toThrow(DbosConfigurationError);
    expect(validate).toThrow(`Queue "emails": ${message}.`);
  });
});

describe('QueueRegistry', () => {
  it('knows the queues it was given, and the internal queue', () => {
    const registry = new QueueRegistry([{ name: 'emails', concurrency: 2 }]);
    expect(
      registry
        .list()
        .map((q) => q.name)
        .sort(),
    ).toEqual([INTERNAL_QUEUE, 'emails'].sort());
    expect(registry.get('emails')).toEqual({ name: 'emails', concurrency: 2 });
    expect(registry.has('reports')).toBe(false);
  });

  it('refuses an invalid queue at construction', () => {
    expect(() => new QueueRegistry([{ name: 'emails', concurrency: 0 }])).toThrow(DbosConfigurationError);
  });

  it('accepts the same queue twice with the same options', () => {
    const registry = new QueueRegistry([{ name: 'emails', concurrency: 2 }]);
    expect(() => registry.register({ name: 'emails', concurrency: 2 })).not.toThrow();
  });

  it('refuses the same name with other options', () => {
    const registry = new QueueRegistry([{ name: 'emails', concurrency: 2 }]);
    expect(() => registry.register({ name: 'emails', concurrency: 3 })).toThrow('Queue "emails" is already registered with other options.');
    expect(registry.get('emails')).toEqual({ name: 'emails', concurrency: 2 });
  });

  it('require() of an unknown queue says how to declare it', () => {
    expect(() => new QueueRegistry().require('reports')).toThrow(
      'Queue "reports" is not declared in this app: add it to DbosModule.forRoot({ queues }) or register it at runtime.',
    );
  });

  it('tells its listeners about each queue registered at runtime', () => {
    const registry = new QueueRegistry();
    const seen: string[] = [];
    registry.onRegistered((queue) => seen.push(queue.name));
    registry.register({ name: 'reports', workerConcurrency: 1 });
    expect(seen).toEqual(['reports']);
    expect(registry.require('reports')).toEqual({ name: 'reports', workerConcurrency: 1 });
  });

  it('keeps its own copy of the options it was given', () => {
    const options = { name: 'emails', concurrency: 2 };
    const registry = new QueueRegistry([options]);
    options.concurrency = 99;
    expect(registry.get('emails')!.concurrency).toBe(2);
  });
});
