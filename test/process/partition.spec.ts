import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, Step, Workflow, WorkflowClient } from '../../lib';
import { DBOS_SYSTEM_DATABASE } from '../../lib/dbos.constants';
import type { DbosDatabase } from '../../lib/dbos.database';
import { createDbosApp } from '../support/app';
import { ChildApp } from '../support/child-app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { FaultProxy } from '../support/fault-proxy';
import { quietPeriod, waitFor } from '../support/wait';

const LEASE_MS = 2_000;

/** The executor's last heartbeat (database clock, epoch ms), 0 when it has none. */
async function heartbeatAt(schema: string, executorId: string): Promise<number> {
  const [row] = await sql<{ at: string }>(`SELECT heartbeat_at AS at FROM "${schema}".executors WHERE executor_id = $1`, [executorId]);
  return Number(row?.at ?? 0);
}

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
      ...common,
      DATABASE_URL: proxy.url(databaseUrl()),
      EXECUTOR_ID: 'exec-cut',
      START_WORKFLOW: 'cut-off',
      SLEEP_MS: '6000',
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

    const lastBeat = await heartbeatAt(schema, 'exec-cut');
    proxy.heal(); // the cut-off executor can reach the database again: it must find out it lost the workflow
    proxy.cut(); // connections open during the partition are dead, as the server gave up on them
    await waitFor(async () => (await heartbeatAt(schema, 'exec-cut')) > lastBeat, { what: "the cut-off executor's heartbeat back", timeoutMs: 20_000 });
    await quietPeriod(4_000, 'a step run by the cut-off executor would show now');
    expect(cutOff.log).not.toMatch(/STEP2 exec-cut/);
    const [row] = await sql<{ output: string; executor_id: string }>(
      `SELECT output, executor_id FROM "${schema}".workflow_status WHERE workflow_id = 'cut-off'`,
    );
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
    const pool = (app.get(DBOS_SYSTEM_DATABASE) as DbosDatabase).system.pool;
    const held = await Promise.all([pool.connect(), pool.connect()]);
    try {
      const before = await heartbeatAt(schema, 'beating');
      await waitFor(async () => (await heartbeatAt(schema, 'beating')) > before, { what: 'a heartbeat while the pool is held', timeoutMs: 20_000 });
      expect(await heartbeatAt(schema, 'beating')).toBeGreaterThan(before);
    } finally {
      for (const client of held) client.release();
    }
  });
});

@Injectable()
class Steady {
  constructor(private readonly dbos: DbosContext) {}

  @Step() async tick(n: number): Promise<number> {
    return n;
  }

  @Workflow() async run(steps: number): Promise<number> {
    let sum = 0;
    for (let n = 1; n <= steps; n++) {
      sum += await this.tick(n);
      await this.dbos.sleep(15);
    }
    return sum;
  }
}

describe('connections cut again and again', () => {
  const schema = uniqueSchema('cuts');
  let proxy: FaultProxy;
  let app: INestApplicationContext;

  beforeAll(async () => {
    const target = new URL(databaseUrl());
    proxy = await FaultProxy.start({ target: { host: target.hostname, port: Number(target.port || 5432) } });
    await createDbosApp([], { schema }).then((migrate) => migrate.close()); // the schema, made directly
    app = await createDbosApp([Steady], { schema, database: { url: proxy.url(databaseUrl()) } });
  });

  afterAll(async () => {
    await app?.close();
    await proxy.close();
    await dropSchema(schema);
  });

  it('workflows finish although the replay after an outage is itself cut off, more than once', async () => {
    const client = app.get(WorkflowClient);
    const handles = await Promise.all(Array.from({ length: 5 }, (_, i) => client.start(Steady, { workflowId: `cut-${i}` }).run(40)));
    // Every connection is reset every 40 ms for 3 s: the waits, the status re-reads and the checkpoint loads of the replays are hit too.
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      proxy.cut();
      await new Promise((resolve) => setTimeout(resolve, 40)); // the cadence of the cuts, on purpose
    }
    for (const [i] of handles.entries()) {
      const [row] = await waitForRow(schema, `cut-${i}`);
      expect(row).toEqual({ status: 'SUCCESS', output: expect.stringContaining('820') });
    }
  }, 60_000);
});

async function waitForRow(schema: string, workflowId: string): Promise<{ status: string; output: string }[]> {
  let rows: { status: string; output: string }[] = [];
  await waitFor(async () => {
    rows = await sql(`SELECT status, output FROM "${schema}".workflow_status WHERE workflow_id = $1`, [workflowId]);
    return rows[0]?.status === 'SUCCESS';
  }, 30_000);
  return rows;
}
