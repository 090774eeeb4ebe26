import { Controller, Get, Injectable, Module, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { Client } from 'pg';
import request from 'supertest';
import type { App } from 'supertest/types';
import { DbosContext, DbosHealthIndicator, DbosModule, Workflow, WorkflowClient, type DbosModuleOptions } from '../../lib';
import { ChildApp } from '../support/child-app';
import { databaseUrl, dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { FaultProxy } from '../support/fault-proxy';
import { waitFor } from '../support/wait';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dbos: DbosHealthIndicator,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.dbos.isAlive('workflows')]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.dbos.isReady('workflows')]);
  }
}

@Injectable()
class Waiter {
  constructor(private readonly dbos: DbosContext) {}

  @Workflow()
  async waitForGo(): Promise<string | null> {
    return this.dbos.recv<string>('go', { timeoutMs: 600_000 });
  }
}

async function startHttpApp(options: DbosModuleOptions): Promise<INestApplication> {
  @Module({
    imports: [DbosModule.forRoot({ shutdownTimeoutMs: 1_000, ...options }), TerminusModule.forRoot({ logger: false })],
    controllers: [HealthController],
    providers: [Waiter],
  })
  class HealthAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [HealthAppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

async function waitForStatus(http: App, path: string, status: number, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => (await request(http).get(path)).status === status, timeoutMs, 100);
}

describe('health over HTTP with @nestjs/terminus', () => {
  describe('through a proxy to Postgres', () => {
    const schema = uniqueSchema('health');
    let proxy: FaultProxy;
    let app: INestApplication;
    let http: App;

    beforeAll(async () => {
      const target = new URL(databaseUrl());
      proxy = await FaultProxy.start({ target: { host: target.hostname, port: Number(target.port || 5432) } });
      app = await startHttpApp({ database: { url: proxy.url(databaseUrl()) }, schema });
      http = app.getHttpServer();
      await app.get(DbosHealthIndicator).whenReady();
    });

    afterAll(async () => {
      await proxy?.heal().catch(() => undefined);
      await app?.close();
      await proxy?.close();
      await dropSchema(schema);
    });

    it('a healthy engine answers 200 on liveness and readiness, with the details under its key', async () => {
      await waitForStatus(http, '/health/ready', 200);

      const live = await request(http).get('/health/live').expect(200);
      const ready = await request(http).get('/health/ready').expect(200);

      expect(live.body).toEqual({
        status: 'ok',
        info: { workflows: { status: 'up', database: 'up' } },
        error: {},
        details: { workflows: { status: 'up', database: 'up' } },
      });
      expect(ready.body).toEqual({
        status: 'ok',
        info: { workflows: { status: 'up', database: 'up', listener: 'up', recovery: 'done' } },
        error: {},
        details: { workflows: { status: 'up', database: 'up', listener: 'up', recovery: 'done' } },
      });
    });

    it('with the database unreachable, liveness and readiness answer 503 with the details of the key, and 200 again once it is back', async () => {
      await proxy.refuse();
      proxy.cut();

      const live = await request(http).get('/health/live').expect(503);
      const ready = await request(http).get('/health/ready').expect(503);

      expect(live.body).toMatchObject({
        status: 'error',
        info: {},
        error: { workflows: { status: 'down', database: 'down', error: expect.any(String) } },
      });
      expect(live.body.details).toEqual(live.body.error);
      expect(ready.body).toMatchObject({
        status: 'error',
        error: { workflows: { status: 'down', database: 'down', recovery: 'done', error: expect.any(String) } },
      });

      await proxy.heal();
      await waitForStatus(http, '/health/live', 200);
      await waitForStatus(http, '/health/ready', 200);
    });
  });

  describe('while recovery is not done', () => {
    const schema = uniqueSchema('health_recovery');
    const options: DbosModuleOptions = { database: databaseOptions(), schema, executorId: 'health-exec', applicationVersion: 'v1' };
    let app: INestApplication | undefined;
    let locker: Client | undefined;

    afterAll(async () => {
      await locker?.end().catch(() => undefined);
      await app?.close();
      await dropSchema(schema);
    });

    it('readiness answers 503 with recovery "running" while liveness answers 200; readiness is 200 once recovery is done', async () => {
      // A workflow left PENDING on this executor by a previous run of the app.
      const first = await startHttpApp(options);
      const handle = await first.get(WorkflowClient).start(Waiter, { workflowId: 'left-pending' }).waitForGo();
      await waitFor(
        async () => (await sql(`SELECT 1 FROM "${schema}".workflow_status WHERE workflow_id = 'left-pending' AND status = 'PENDING'`)).length === 1,
      );
      await first.close();
      // Recovery claims that row with FOR UPDATE SKIP LOCKED: a table lock that conflicts with row
      // locks (EXCLUSIVE: plain reads still pass) holds the claim, so recovery cannot finish.
      locker = new Client({ connectionString: databaseUrl() });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".workflow_status IN EXCLUSIVE MODE`);

      app = await startHttpApp(options);
      const http: App = app.getHttpServer();

      const ready = await request(http).get('/health/ready').expect(503);
      expect(ready.body.error).toEqual({ workflows: { status: 'down', database: 'up', listener: expect.any(String), recovery: 'running' } });
      const live = await request(http).get('/health/live').expect(200);
      expect(live.body.info).toEqual({ workflows: { status: 'up', database: 'up' } });

      await locker.query('ROLLBACK');
      await waitForStatus(http, '/health/ready', 200);
      const recovered = await request(http).get('/health/ready').expect(200);
      expect(recovered.body.info).toEqual({ workflows: { status: 'up', database: 'up', listener: 'up', recovery: 'done' } });
      await app.get(WorkflowClient).send(handle.workflowId, 'go', 'go');
      await expect(app.get(WorkflowClient).retrieve(handle.workflowId).getResult({ timeoutMs: 10_000 })).resolves.toBe('go');
    });
  });

  describe('without @nestjs/terminus installed', () => {
    const schema = uniqueSchema('health_plain');
    afterAll(() => dropSchema(schema));

    it('the package loads, and the indicator returns the objects terminus would build', async () => {
      const child = ChildApp.start('health-without-terminus.ts', { DBOS_SCHEMA: schema });
      await child.waitForOutput(/RESULT .*\n/, 30_000);
      const line = child.log.split('\n').find((l) => l.startsWith('RESULT '))!;
      expect(await child.waitForExit()).toBe(0);

      expect(JSON.parse(line.slice('RESULT '.length))).toEqual({
        terminusLoads: false,
        alive: { workflows: { status: 'up', database: 'up' } },
        ready: { workflows: { status: 'up', database: 'up', listener: 'up', recovery: 'done' } },
      });
    });
  });
});
