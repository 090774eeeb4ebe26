import { type INestApplicationContext } from '@nestjs/common';
import { DBOS_SYSTEM_DATABASE } from '../lib/dbos.constants';
import type { DbosDatabase } from '../lib/dbos-database';
import { createDbosApp } from './support/app';
import { ChildApp } from './support/child-app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from './support/database';
import { FaultProxy } from './support/fault-proxy';
import { waitFor } from './support/wait';

const LEASE_MS = 2_000;

describe('a cut-off executor stops acting', () => {
  const schema = uniqueSchema('partition');
  let proxy: FaultProxy;
  const children: ChildApp[] = [];

  beforeAll(async () => {
    const target = new URL(databaseUrl());
    proxy = await FaultProxy.start({ target: { host: target.hostname, port: Number(target.port || 5432) } });
  });

  afterAll(async () => {
    await Promise.all(children.map((c) => c.kill()));
    await proxy.close();
    await dropSchema(schema);
  });

  it('after another executor adopted its sleeping workflow during a partition, the cut-off one never runs a later step', async () => {
    const common = { DBOS_SCHEMA: schema, LEASE_MS: String(LEASE_MS) };
    const cutOff = ChildApp.start('partition-app.ts', {
      ...common, DATABASE_URL: proxy.url(databaseUrl()), EXECUTOR_ID: 'exec-cut', START_WORKFLOW: 'cut-off', SLEEP_MS: '6000',
    });
    children.push(cutOff);
    await cutOff.waitForOutput(/STEP1 exec-cut/);
    // Asleep: its sleep's checkpoint (the wake-up time) is recorded.
    await waitFor(async () => (await sql(`SELECT 1 FROM "${schema}".operation_outputs WHERE workflow_id = 'cut-off' AND step_name = 'DBOS.sleep'`)).length > 0);
    const partitionedAt = Date.now();
    proxy.blackhole(); // the partition: exec-cut's queries and heartbeats hang from now on

    const live = ChildApp.start('partition-app.ts', { ...common, DATABASE_URL: databaseUrl(), EXECUTOR_ID: 'exec-live' });
    children.push(live);
    await live.waitForOutput(/STEP2 exec-live/, 30_000); // adopted after the lease; its sleep ends at the original deadline
    console.log(`adopted and finished ${Date.now() - partitionedAt} ms after the partition began`);
    await waitFor(async () => {
      const [row] = await sql<{ status: string }>(`SELECT status FROM "${schema}".workflow_status WHERE workflow_id = 'cut-off'`);
      return row?.status === 'SUCCESS';
    }, 10_000);

    proxy.heal(); // the cut-off executor can reach the database again: it must find out it lost the workflow
    proxy.cut(); // connections open during the partition are dead, as the server gave up on them
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(cutOff.log).not.toMatch(/STEP2 exec-cut/);
    const [row] = await sql<{ output: string; executor_id: string }>(`SELECT output, executor_id FROM "${schema}".workflow_status WHERE workflow_id = 'cut-off'`);
    expect(row.executor_id).toBe('exec-live');
    expect(cutOff.process.exitCode).toBeNull(); // alive all along, only cut off
  }, 60_000);
});

describe('heartbeats use their own connection', () => {
  const schema = uniqueSchema('beat');
  let app: INestApplicationContext;

  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
  });

  it('a pool whose every connection is held does not stop the heartbeat', async () => {
    app = await createDbosApp([], { schema, executorId: 'beating', database: { url: databaseUrl(), poolSize: 2 }, recovery: { executorLeaseMs: 900 } });
    const heartbeat = async () =>
      Number((await sql<{ at: string }>(`SELECT heartbeat_at AS at FROM "${schema}".executors WHERE executor_id = 'beating'`))[0].at);
    const pool = (app.get(DBOS_SYSTEM_DATABASE) as DbosDatabase).system.pool;
    const held = await Promise.all([pool.connect(), pool.connect()]);
    try {
      const before = await heartbeat();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await heartbeat()).toBeGreaterThan(before);
    } finally {
      for (const client of held) client.release();
    }
  });
});
