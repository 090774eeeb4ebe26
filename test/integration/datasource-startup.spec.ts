import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { DbosDatabaseUnavailableError, DbosModule, Step, Workflow, WorkflowClient } from '../../lib';
import { databaseOptions, databaseUrl, dropSchema, uniqueSchema } from '../support/database';
import { FaultProxy } from '../support/fault-proxy';
import { SystemDatabase } from '../../lib/system-database/system.database';

@Injectable()
class Greeter {
  @Step() async greet(name: string): Promise<string> {
    return `hello ${name}`;
  }

  @Workflow() async welcome(name: string): Promise<string> {
    return this.greet(name);
  }
}

describe('a DataSource handed over before it is initialized', () => {
  const schema = uniqueSchema('dsinit');
  let proxy: FaultProxy;

  beforeAll(async () => {
    const target = new URL(databaseUrl());
    proxy = await FaultProxy.start({ target: { host: target.hostname, port: Number(target.port || 5432) } });
  });
  afterAll(async () => {
    await proxy.close();
    await dropSchema(schema);
  });

  it('is initialized by the module, which waits out a database that is not reachable yet (startupRetryMs)', async () => {
    const dataSource = new DataSource({ type: 'postgres', url: proxy.url(databaseUrl()) });
    await proxy.refuse();
    @Module({ imports: [DbosModule.forRoot({ database: { dataSource, startupRetryMs: 20_000 }, schema })], providers: [Greeter] })
    class AppModule {}
    // Unreachable for the first 1.5 s on purpose (well within startupRetryMs): what the module must wait out.
    const healing = new Promise((resolve) => setTimeout(resolve, 1_500)).then(() => proxy.heal());
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    await healing;
    const app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
    try {
      expect(dataSource.isInitialized).toBe(true);
      const handle = await app.get(WorkflowClient).start(Greeter).welcome('ada');
      expect(await handle.getResult()).toBe('hello ada');
    } finally {
      await app.close();
      // The app owns it: the module does not destroy it.
      expect(dataSource.isInitialized).toBe(true);
      await dataSource.destroy();
    }
  });

  it('fails with DbosDatabaseUnavailableError naming the database once startupRetryMs has passed', async () => {
    const dataSource = new DataSource({ type: 'postgres', url: proxy.url(databaseUrl()).replace(/\/\/[^@]*@/, '//app:s3cret@') });
    await proxy.refuse();
    @Module({ imports: [DbosModule.forRoot({ database: { dataSource, startupRetryMs: 1_000 }, schema })] })
    class AppModule {}
    const startedAt = Date.now();
    const error = await Test.createTestingModule({ imports: [AppModule] })
      .compile()
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(DbosDatabaseUnavailableError);
    expect((error as Error).message).toContain(`127.0.0.1:${proxy.port}`);
    expect((error as Error).message).not.toContain('s3cret');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
    await proxy.heal();
  });

  it('an attempt begun within startupRetryMs that hangs past it (a connection opened during a partition) is followed by one more', async () => {
    // Every connection the proxy accepts while blackholed stays dead: the first attempt hangs for
    // its 2 s connect timeout, past the 500 ms budget; the partition heals after 1 s, meanwhile.
    proxy.blackhole();
    const healing = new Promise((resolve) => setTimeout(resolve, 1_000)).then(() => proxy.heal());
    const started = Date.now();
    const db = await SystemDatabase.open({
      ...databaseOptions(proxy.url(databaseUrl())),
      schema,
      runMigrations: true,
      startupRetryMs: 500,
      statementTimeoutMs: 2_000,
    });
    try {
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900); // the first attempt did hang
      await expect(db.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
    } finally {
      await healing;
      await db.close();
    }
  });
});
