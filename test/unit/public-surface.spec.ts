import { DataSource } from 'typeorm';
import * as root from '../../lib';
import { resolveDbosOptions } from '../../lib/dbos.options';
import type { DbosModuleOptions, ReadReplicaOptions, WorkflowClientConnectOptions } from '../../lib';
import { DbosConfigurationError, WorkflowClient } from '../../lib';

describe('the public surface', () => {
  it('exports the recovery facade, not the runner or the removed deprecated names', () => {
    const names = Object.keys(root);
    expect(names).toEqual(expect.arrayContaining(['RecoveryService', 'WorkflowClient', 'QueueRegistry', 'DbosHealthIndicator']));
    for (const gone of ['RecoveryRunner', 'QueueDispatcher', 'DbosHealthCheckError']) expect(names).not.toContain(gone);
    expect(Object.getOwnPropertyNames(root.RecoveryService.prototype).sort()).toEqual(['constructor', 'isRecovered', 'whenRecovered']);
  });

  it('WorkflowClient is built by the module or connect(), never with new', () => {
    // The constructor is not in the published types (stripInternal); at run time a direct call says what to do instead.
    const Construct = WorkflowClient as unknown as new (backend: unknown) => WorkflowClient;
    expect(() => new Construct({})).toThrow(DbosConfigurationError);
    expect(() => new Construct({})).toThrow(/inject it in a Nest app .* or call `await WorkflowClient.connect/);
  });

  it('database is { url } or { dataSource }: both at once is a DbosConfigurationError naming the choice', () => {
    const both = { database: { url: 'postgres://x@127.0.0.1/x', dataSource: new DataSource({ type: 'postgres' }) } } as unknown as DbosModuleOptions;
    expect(() => resolveDbosOptions(both)).toThrow(DbosConfigurationError);
    expect(() => resolveDbosOptions(both)).toThrow(/database.url and database.dataSource were both given; pass one/);
    // @ts-expect-error the type refuses both, so this mistake is caught at compile time in TypeScript apps
    const typed: DbosModuleOptions = { database: { url: 'postgres://x@127.0.0.1/x', dataSource: new DataSource({ type: 'postgres' }) } };
    expect(typed.database).toBeDefined();
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
