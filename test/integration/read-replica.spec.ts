import { Injectable, Module, type INestApplication, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { App } from 'supertest/types';
import {
  DbosConfigurationError,
  DbosConflictError,
  DbosContext,
  DbosDashboardModule,
  DbosDatabaseUnavailableError,
  DbosModule,
  Step,
  Workflow,
  WorkflowClient,
} from '../../lib';
import { REPLICA_RETRY_MS } from '../../lib/system-database/read.replica';
import { SystemDatabase } from '../../lib/system-database/system.database';
import { databaseUrl, dropSchema, sqlAt, uniqueSchema } from '../support/database';
import { ChildApp } from '../support/child-app';
import { ReplicatedCluster, replicaToolsMissing } from '../support/replica';
import { waitFor } from '../support/wait';

@Injectable()
class Jobs {
  static runs = new Map<string, number>();

  constructor(private readonly dbos: DbosContext) {}

  @Step() async double(n: number): Promise<number> {
    Jobs.runs.set(this.dbos.workflowId!, (Jobs.runs.get(this.dbos.workflowId!) ?? 0) + 1);
    return n * 2;
  }

  @Workflow() async work(n: number): Promise<number> {
    return this.double(n);
  }

  @Workflow() async waiter(): Promise<unknown> {
    return this.dbos.recv('go', { timeoutMs: 60_000 });
  }
}

/** Keeps the app's warnings and logs, to show that a fallback is reported (once). */
class CapturedLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown): void {
    this.lines.push(String(message));
  }
  warn(message: unknown): void {
    this.lines.push(String(message));
  }
  error(message: unknown): void {
    this.lines.push(String(message));
  }
  count(pattern: RegExp): number {
    return this.lines.filter((line) => pattern.test(line)).length;
  }
}

const missing = replicaToolsMissing();
const suite = missing ? describe.skip : describe;
const APP_NAME = 'replica-spec';

suite(`database.readUrl: management reads on a hot standby${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let cluster: ReplicatedCluster;
  let app: INestApplication;
  let client: WorkflowClient;
  const logs = new CapturedLogger();
  const schema = uniqueSchema('replica');
  const http = () => request(app.getHttpServer() as App);

  beforeAll(async () => {
    cluster = await ReplicatedCluster.start();
    await cluster.createDatabase('app');
    @Module({
      imports: [
        DbosModule.forRoot({
          database: { url: cluster.primaryUrl('app'), readUrl: cluster.standbyUrl('app'), applicationName: APP_NAME },
          schema,
          executorId: 'replica-exec',
          shutdownTimeoutMs: 1_000,
          queues: [{ name: 'q' }],
        }),
        DbosDashboardModule.forRoot({ path: '/ops' }),
      ],
      providers: [Jobs],
    })
    class ReplicaTestModule {}
    const moduleRef = await Test.createTestingModule({ imports: [ReplicaTestModule] }).compile();
    app = moduleRef.createNestApplication({ logger: logs });
    await app.init();
    client = app.get(WorkflowClient);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await cluster?.stop();
  });

  it('under lag, list/listPage/listSteps/queueStats and the dashboard read the standby, while results, dedup and getStatus read the primary', async () => {
    const before = await (await client.start(Jobs, { workflowId: 'seen-1' }).work(1)).getResult();
    expect(before).toBe(2);
    await cluster.waitCaughtUp();
    expect((await client.list({ workflowIdPrefix: 'seen-' })).map((w) => w.workflowId)).toEqual(['seen-1']);

    await cluster.pauseReplay();
    const handle = await client.start(Jobs, { workflowId: 'lagged-1' }).work(21);
    expect(await handle.getResult()).toBe(42);
    const waiting = await client.enqueue({ workflowName: 'Jobs.waiter', queue: 'q', workflowId: 'lagged-wait', deduplicationId: 'd-1' });
    await waitFor(async () => (await client.getStatus('lagged-wait'))?.status === 'PENDING', { what: 'the queued waiter running' });

    const lag = await cluster.lag();
    console.log(
      `standby lag while paused: ${lag.bytes} bytes of WAL (primary ${lag.primaryLsn}, replayed ${lag.replayLsn}), ` +
        `last replayed commit ${lag.lastReplayAt ? `${Date.now() - lag.lastReplayAt.getTime()} ms ago` : 'none'}`,
    );
    expect(lag.replayPaused).toBe(true);
    expect(lag.bytes).toBeGreaterThan(0);

    // The standby does not have them: every management read says so.
    expect(await client.list({ workflowIdPrefix: 'lagged-' })).toEqual([]);
    expect((await client.listPage({ workflowIdPrefix: 'lagged-' })).workflows).toEqual([]);
    expect(await client.listSteps('lagged-1')).toEqual([]); // exists (checked on the primary), its step not replayed yet
    expect((await client.queueStats()).find((s) => s.queue === 'q')).toBeUndefined();
    expect(await client.getStatus('lagged-1', { fromReplica: true })).toBeNull();
    expect((await http().get('/ops/api/workflows?idPrefix=lagged-').expect(200)).body.workflows).toEqual([]);
    await http().get('/ops/api/workflows/lagged-1').expect(404);

    // Everything that decides sees the primary.
    expect((await client.getStatus('lagged-1'))?.status).toBe('SUCCESS');
    expect(await client.retrieve('lagged-1').getResult()).toBe(42);
    expect(await (await client.start(Jobs, { workflowId: 'lagged-1' }).work(21)).getResult()).toBe(42);
    expect(Jobs.runs.get('lagged-1')).toBe(1);
    await expect(client.enqueue({ workflowName: 'Jobs.waiter', queue: 'q', workflowId: 'lagged-wait-2', deduplicationId: 'd-1' })).rejects.toThrow(
      DbosConflictError,
    );
    const primaryStats = await sqlAt<{ n: number }>(
      cluster.primaryUrl('app'),
      `SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE queue_name = 'q' AND status = 'PENDING'`,
    );
    expect(primaryStats[0].n).toBe(1);

    // The reads came from the module's replica pool on the standby, which stays within readPoolSize under concurrent reads.
    await Promise.all(Array.from({ length: 8 }, () => client.list({ limit: 5, loadPayloads: false })));
    const onStandby = await sqlAt<{ n: number }>(cluster.standbyUrl('app'), `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [
      `${APP_NAME}:replica`,
    ]);
    expect(onStandby[0].n).toBeGreaterThan(0);
    expect(onStandby[0].n).toBeLessThanOrEqual(2); // readPoolSize default

    // Replay resumes: the list catches up.
    const resumedAt = Date.now();
    await cluster.resumeReplay();
    await waitFor(async () => (await client.list({ workflowIdPrefix: 'lagged-' })).length === 2, { what: 'the list catching up' });
    console.log(`list caught up ${Date.now() - resumedAt} ms after replay resumed`);
    expect((await client.listSteps('lagged-1')).map((s) => s.output)).toEqual([42]);
    expect((await client.queueStats()).find((s) => s.queue === 'q')).toMatchObject({ running: 1 });
    expect((await http().get('/ops/api/workflows/lagged-1').expect(200)).body.workflow.status).toBe('SUCCESS');

    await client.send('lagged-wait', 'done', 'go');
    expect(await waiting.getResult()).toBe('done');
  });

  it('the dashboard pages read the standby; its actions decide on the primary', async () => {
    await cluster.waitCaughtUp();
    await cluster.pauseReplay();
    try {
      const handle = await client.enqueue({ workflowName: 'Jobs.waiter', queue: 'q', workflowId: 'dash-wait' });
      await waitFor(async () => (await client.getStatus('dash-wait'))?.status === 'PENDING', { what: 'dash-wait running' });
      const queues = (await http().get('/ops/api/queues').expect(200)).body as { queue: string; running: number }[];
      expect(queues.find((q) => q.queue === 'q')?.running ?? 0).toBe(0);
      // Cancel checks the status on the primary (PENDING), so it is allowed though the standby has no such workflow.
      await http().post('/ops/api/workflows/dash-wait/cancel').send({}).expect(200);
      await expect(handle.getResult()).rejects.toThrow();
      expect((await client.getStatus('dash-wait'))?.status).toBe('CANCELLED');
    } finally {
      await cluster.resumeReplay();
    }
  });

  it('a standby that stops answering: reads go to the primary, logged once, and back to the standby when it answers', async () => {
    const lost = /Read replica .* does not answer/;
    await cluster.stopStandby();
    try {
      const handle = await client.start(Jobs, { workflowId: 'outage-1' }).work(5);
      expect(await handle.getResult()).toBe(10);
      // The primary answers the lists meanwhile (the standby is down, so this is the primary's row).
      expect((await client.list({ workflowIdPrefix: 'outage-' })).map((w) => w.workflowId)).toEqual(['outage-1']);
      expect((await http().get('/ops/api/workflows?idPrefix=outage-').expect(200)).body.workflows).toHaveLength(1);
      expect(await client.listSteps('outage-1')).toHaveLength(1);
      expect(logs.count(lost)).toBe(1);
      expect(logs.lines.find((line) => lost.test(line))).toMatch(/go to the primary .*readFallback: 'primary'/);
    } finally {
      await cluster.startStandby();
    }
    await waitFor(
      async () => {
        await client.list({ workflowIdPrefix: 'outage-' });
        return logs.count(/answers again: management reads go to it/) === 1;
      },
      { what: 'the standby used again', timeoutMs: REPLICA_RETRY_MS + 10_000, intervalMs: 200 },
    );
    expect(logs.count(lost)).toBe(1);
  });

  it("readFallback: 'fail' rejects management reads with DbosDatabaseUnavailableError while the standby is down; decisions still work", async () => {
    const failing = await WorkflowClient.connect({
      database: { url: cluster.primaryUrl('app'), readUrl: cluster.standbyUrl('app'), readFallback: 'fail' },
      schema,
    });
    try {
      await cluster.stopStandby();
      await expect(failing.list()).rejects.toThrow(DbosDatabaseUnavailableError);
      await expect(failing.queueStats()).rejects.toThrow(/readFallback: 'fail'/);
      expect((await failing.getStatus('lagged-1'))?.status).toBe('SUCCESS');
      expect(await failing.retrieve('lagged-1').getResult()).toBe(42);
    } finally {
      await cluster.startStandby();
    }
    await waitFor(async () => (await failing.list({ workflowIdPrefix: 'lagged-1' }).catch(() => [])).length === 1, {
      what: 'reads answered by the standby again',
      timeoutMs: REPLICA_RETRY_MS + 10_000,
      intervalMs: 200,
    });
    await failing.close();
  });

  it('a client starts while the standby is down: it does not fail, and its reads go to the primary, warned once', async () => {
    await cluster.stopStandby();
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    let late: WorkflowClient | undefined;
    try {
      late = await WorkflowClient.connect({ database: { url: cluster.primaryUrl('app'), readUrl: cluster.standbyUrl('app') }, schema });
      expect((await late.list({ workflowIdPrefix: 'seen-' })).map((w) => w.workflowId)).toEqual(['seen-1']);
      expect(warn.mock.calls.map((c) => String(c[0])).filter((m) => /does not answer/.test(m))).toHaveLength(1);
    } finally {
      warn.mockRestore();
      await cluster.startStandby();
      await late?.close();
    }
  });

  it('a standby down at startup is checked when it first answers: a wrong one is then refused (logged), reads stay on the primary', async () => {
    const refused = /has no system schema .* Until the app restarts, management reads go to the primary/;
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const warned = (pattern: RegExp) => warn.mock.calls.filter((c) => pattern.test(String(c[0]))).length;
    await cluster.stopStandby();
    let late: WorkflowClient | undefined;
    try {
      late = await WorkflowClient.connect({ database: { url: cluster.primaryUrl('app'), readUrl: cluster.standbyUrl('postgres') }, schema });
      expect(warned(/does not answer/)).toBe(1);
    } finally {
      await cluster.startStandby();
    }
    try {
      // Each list answers from the primary; the first one after the retry time runs the check on the standby.
      await waitFor(async () => (await late.list({ workflowIdPrefix: 'seen-' })).length === 1 && warned(refused) === 1, {
        what: 'the late check refusing the standby',
        timeoutMs: REPLICA_RETRY_MS + 10_000,
        intervalMs: 200,
      });
      expect((await late.list({ workflowIdPrefix: 'seen-' })).map((w) => w.workflowId)).toEqual(['seen-1']);
      expect(warned(refused)).toBe(1);
    } finally {
      warn.mockRestore();
      await late.close();
    }
  });

  it('the CLI lists on --read-url (DATABASE_READ_URL), and on the primary without it', async () => {
    await cluster.waitCaughtUp();
    await cluster.pauseReplay();
    try {
      expect(await (await client.start(Jobs, { workflowId: 'cli-lagged' }).work(3)).getResult()).toBe(6);
      const listed = async (env: Record<string, string>) => {
        const cli = ChildApp.run('lib/cli/main.ts', {
          args: ['workflows', 'list', '--json', '--schema', schema, '--id-prefix', 'cli-'],
          env: { DATABASE_URL: cluster.primaryUrl('app'), NO_COLOR: '1', ...env },
        });
        expect((await cli.exit).code).toBe(0);
        return (JSON.parse(cli.stdout) as { workflowId: string }[]).map((w) => w.workflowId);
      };
      const [onStandby, onPrimary] = await Promise.all([listed({ DATABASE_READ_URL: cluster.standbyUrl('app') }), listed({})]);
      expect(onStandby).toEqual([]);
      expect(onPrimary).toEqual(['cli-lagged']);
    } finally {
      await cluster.resumeReplay();
    }
  });

  describe('startup checks', () => {
    it('refuses a readUrl without the system schema (another database on the standby)', async () => {
      const err = await WorkflowClient.connect({ database: { url: cluster.primaryUrl('app'), readUrl: cluster.standbyUrl('postgres') }, schema }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DbosConfigurationError);
      expect((err as Error).message).toContain(`has no system schema "${schema}"`);
    });

    it('refuses a readUrl whose system schema is older than the primary’s', async () => {
      await sqlAt(cluster.primaryUrl(), 'CREATE DATABASE older');
      const older = await SystemDatabase.open({ url: cluster.primaryUrl('older'), schema, runMigrations: true, startupRetryMs: 0 });
      await older.close();
      await sqlAt(cluster.primaryUrl('older'), `DELETE FROM "${schema}".migrations WHERE id = (SELECT max(id) FROM "${schema}".migrations)`);
      await cluster.waitCaughtUp();
      const err = await WorkflowClient.connect({ database: { url: cluster.primaryUrl('app'), readUrl: cluster.standbyUrl('older') }, schema }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DbosConfigurationError);
      expect((err as Error).message).toMatch(/older system schema .*\(missing migrations/);
    });

    it('refuses a readUrl on another Postgres server (not a standby of the primary)', async () => {
      const other = await SystemDatabase.open({ url: databaseUrl(), schema, runMigrations: true, startupRetryMs: 0 });
      await other.close();
      try {
        const err = await WorkflowClient.connect({ database: { url: cluster.primaryUrl('app'), readUrl: databaseUrl() }, schema }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DbosConfigurationError);
        expect((err as Error).message).toMatch(/another Postgres server .* not a standby/);
      } finally {
        await dropSchema(schema);
      }
    });

    it('accepts the primary itself as readUrl with a warning, and its reads are read-only', async () => {
      const warnings: string[] = [];
      const logger = { log: () => undefined, warn: (message: string) => warnings.push(message) };
      const system = await SystemDatabase.open({ url: cluster.primaryUrl('app'), readUrl: cluster.primaryUrl('app'), schema, runMigrations: false, logger });
      try {
        expect(warnings).toEqual([expect.stringMatching(/is not a hot standby .* the primary itself/)]);
        expect(system.reads).not.toBe(system);
        const [setting] = await system.reads.unnamed<{ ro: string }>(`SELECT current_setting('default_transaction_read_only') AS ro`);
        expect(setting.ro).toBe('on');
        await expect(system.reads.unnamed(`CREATE TABLE {schema}.nope (x int)`)).rejects.toThrow(/read-only transaction/);
      } finally {
        await system.close();
      }
    });
  });
});
