import { DataSource } from 'typeorm';
import * as root from '../../lib';
import { resolveDbosOptions } from '../../lib/dbos.options';
import type {
  ClientStartOptions,
  DbosModuleOptions,
  EnqueueOptions,
  ListWorkflowsOptions,
  PayloadEncryptionOptions,
  PayloadOptions,
  PayloadSerializer,
  ReadReplicaOptions,
  SendOptions,
  WorkflowAttributes,
  WorkflowClientConnectOptions,
} from '../../lib';
import { DbosConfigurationError, WorkflowClient } from '../../lib';

describe('the public surface', () => {
  it('exports the recovery facade, not the runner or the removed deprecated names', () => {
    const names = Object.keys(root);
    expect(names).toEqual(expect.arrayContaining(['RecoveryService', 'WorkflowClient', 'QueueRegistry', 'DbosHealthIndicator', 'ScheduleClient']));
    for (const gone of ['RecoveryRunner', 'QueueDispatcher', 'DbosHealthCheckError']) expect(names).not.toContain(gone);
    expect(Object.getOwnPropertyNames(root.RecoveryService.prototype).sort()).toEqual(['constructor', 'isRecovered', 'whenRecovered']);
  });

  it('WorkflowClient debounces (the option types DebounceOptions and DebounceByNameOptions are exported as types)', () => {
    expect(typeof WorkflowClient.prototype.debounce).toBe('function');
    const options: root.DebounceByNameOptions = { periodMs: 1_000, maxWaitMs: 5_000, queue: 'q', workflowName: 'W.run' };
    const byClass: root.DebounceOptions = options;
    expect(byClass.periodMs).toBe(1_000);
  });

  it('WorkflowClient is built by the module or connect(), never with new', () => {
    // The constructor is not in the published types (stripInternal); at run time a direct call says what to do instead.
    const Construct = WorkflowClient as unknown as new (backend: unknown) => WorkflowClient;
    expect(() => new Construct({})).toThrow(DbosConfigurationError);
    expect(() => new Construct({})).toThrow(/inject it in a Nest app .* or call `await WorkflowClient.connect/);
  });

  it('ScheduleClient is injected or reached as client.schedules, never built with new', () => {
    const Construct = root.ScheduleClient as unknown as new () => unknown;
    expect(() => new Construct()).toThrow(/inject it in a Nest app .* or use `client.schedules`/);
  });

  it('database is { url } or { dataSource }: both at once is a DbosConfigurationError naming the choice', () => {
    const both = { database: { url: 'postgres://x@127.0.0.1/x', dataSource: new DataSource({ type: 'postgres' }) } } as unknown as DbosModuleOptions;
    expect(() => resolveDbosOptions(both)).toThrow(DbosConfigurationError);
    expect(() => resolveDbosOptions(both)).toThrow(/database.url and database.dataSource were both given; pass one/);
    // @ts-expect-error the type refuses both, so this mistake is caught at compile time in TypeScript apps
    const typed: DbosModuleOptions = { database: { url: 'postgres://x@127.0.0.1/x', dataSource: new DataSource({ type: 'postgres' }) } };
    expect(typed.database).toBeDefined();
  });

  it('WorkflowClient controls queued workflows and deletes them', () => {
    for (const method of ['setPriority', 'setDelay', 'delete'])
      expect(typeof (WorkflowClient.prototype as unknown as Record<string, unknown>)[method]).toBe('function');
  });

  it('waitAll and waitFirst on the client and on DbosContext (the fan-out calls)', () => {
    for (const name of ['waitAll', 'waitFirst']) {
      expect(typeof (WorkflowClient.prototype as unknown as Record<string, unknown>)[name]).toBe('function');
      expect(typeof (root.DbosContext.prototype as unknown as Record<string, unknown>)[name]).toBe('function');
    }
  });

  it('names the options of a start in the app transaction and of attributes (types of the root export)', () => {
    const attributes: WorkflowAttributes = { tenant: 'acme' };
    const start: ClientStartOptions = { attributes, entityManager: undefined };
    const enqueue: EnqueueOptions = { workflowName: 'W.run', queue: 'q', attributes, entityManager: undefined };
    const send: SendOptions = { idempotencyKey: 'k', entityManager: undefined };
    const list: ListWorkflowsOptions = { attributes };
    expect([start.attributes, enqueue.attributes, send.idempotencyKey, list.attributes]).toEqual([attributes, attributes, 'k', attributes]);
  });

  it('one startupRetryMs default for the module and the system database', () => {
    expect(resolveDbosOptions({ database: { url: 'postgres://x@127.0.0.1/x' } }).database.startupRetryMs).toBe(30_000);
  });

  it('database.readUrl, readPoolSize and readFallback are options of the module and of WorkflowClient.connect', () => {
    const replica: ReadReplicaOptions = { readUrl: 'postgres://x@replica/x', readPoolSize: 2, readFallback: 'fail' };
    const connect: WorkflowClientConnectOptions = { database: { url: 'postgres://x@primary/x', ...replica } };
    expect(resolveDbosOptions({ database: { url: 'postgres://x@primary/x', ...replica } }).database).toMatchObject(replica);
    expect(connect.database.readFallback).toBe('fail');
  });
});

describe('the payload options', () => {
  it('are typed on the module and the standalone client: a serializer (sync or async) and an encryption key', () => {
    const serializer: PayloadSerializer = { serialize: async (value) => JSON.stringify(value), deserialize: (text) => JSON.parse(text) as unknown };
    const encryption: PayloadEncryptionOptions = { key: Buffer.alloc(32), previousKeys: [Buffer.alloc(32, 1).toString('base64')] };
    const module: DbosModuleOptions = { serializer, encryption };
    const client: PayloadOptions = { serializer, encryption };
    expect(module.encryption).toBe(client.encryption);
  });
});
