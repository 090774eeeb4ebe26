import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, Step, Workflow, WorkflowClient } from '../../lib';
import { DBOS_SYSTEM_DATABASE } from '../../lib/dbos.constants';
import type { DbosDatabase } from '../../lib/dbos.database';
import { serialize } from '../../lib/serialization/value.codec';
import { QueueRepository } from '../../lib/system-database/queue.repository';
import { SystemDatabase } from '../../lib/system-database/system.database';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { maxOverlap, quietPeriod, waitFor } from '../support/wait';

const VERSION = 'own-v1';

/** Which process (app) ran what: apps in one test process share these. */
const runs: { workflowId: string; step: number; executor: string; at: number }[] = [];
const intervals: [number, number][] = [];

@Injectable()
class Jobs {
  constructor(private readonly dbos: DbosContext) {}

  /** The executor that runs this process's copy; set per app below. */
  static executorOf = new WeakMap<object, string>();

  @Step()
  async mark(step: number): Promise<number> {
    runs.push({ workflowId: this.dbos.workflowId!, step, executor: Jobs.executorOf.get(this) ?? '?', at: Date.now() });
    return step;
  }

  @Workflow()
  async steady(steps: number, pauseMs: number): Promise<string> {
    for (let step = 1; step <= steps; step++) {
      await this.mark(step);
      await this.dbos.sleep(pauseMs);
    }
    return Jobs.executorOf.get(this) ?? '?';
  }

  @Step()
  async slowly(): Promise<void> {
    const start = Date.now();
    // Its run lasts a while on purpose: runs of the queue that overlap show in `intervals`.
    await new Promise((resolve) => setTimeout(resolve, 250));
    intervals.push([start, Date.now()]);
  }

  @Workflow()
  async queued(tag: string): Promise<string> {
    await this.slowly();
    return tag;
  }

  @Workflow()
  async waitForGo(): Promise<string> {
    return (await this.dbos.recv<string>('go', { timeoutMs: 30_000 })) ?? 'timeout';
  }

  @Workflow()
  async parent(): Promise<string> {
    const child = await this.dbos.startWorkflow(Jobs).waitForGo();
    return `child said ${await child.getResult()}`;
  }
}

async function app(schema: string, executorId: string, extra: Parameters<typeof createDbosApp>[1] extends infer O ? Partial<O> : never = {}) {
  const created = await createDbosApp([Jobs], { schema, executorId, applicationVersion: VERSION, ...extra });
  Jobs.executorOf.set(created.get(Jobs), executorId);
  return created;
}

async function statusOf(schema: string, workflowId: string): Promise<{ status: string; executor_id: string | null; partition_key: string | null }> {
  const [row] = await sql<{ status: string; executor_id: string | null; partition_key: string | null }>(
    `SELECT status, executor_id, partition_key FROM "${schema}".workflow_status WHERE workflow_id = $1`,
    [workflowId],
  );
  return row;
}

describe('cancel and resume compose', () => {
  const schema = uniqueSchema('ownres');
  let a: INestApplicationContext;
  let b: INestApplicationContext;

  beforeAll(async () => {
    a = await app(schema, 'own-a');
    b = await app(schema, 'own-b');
  });

  afterAll(async () => {
    await a.close();
    await b.close();
    await dropSchema(schema);
  });

  it('resuming a parent whose cancel cascaded to its child resumes the child, and the parent continues', async () => {
    const client = a.get(WorkflowClient);
    const parent = await client.start(Jobs, { workflowId: 'family' }).parent();
    const childId = 'family-0';
    await waitFor(async () => (await statusOf(schema, childId))?.status === 'PENDING');
    await client.cancel('family');
    expect((await statusOf(schema, 'family')).status).toBe('CANCELLED');
    expect((await statusOf(schema, childId)).status).toBe('CANCELLED');

    await client.resume('family');
    await waitFor(async () => (await statusOf(schema, childId)).status === 'PENDING');
    await client.send(childId, 'go', 'go');
    expect(await parent.getResult({ timeoutMs: 10_000 }).catch(() => client.retrieve('family').getResult({ timeoutMs: 10_000 }))).toBe('child said go');
    expect((await statusOf(schema, 'family')).status).toBe('SUCCESS');
  });

  it('a child cancelled on its own is not resumed with its parent', async () => {
    const client = a.get(WorkflowClient);
    await client.start(Jobs, { workflowId: 'family2' }).parent();
    await waitFor(async () => (await statusOf(schema, 'family2-0'))?.status === 'PENDING');
    await client.cancel('family2-0');
    await waitFor(async () => (await statusOf(schema, 'family2')).status === 'ERROR');
    await client.resume('family2');
    await waitFor(async () => (await statusOf(schema, 'family2')).status !== 'PENDING');
    expect((await statusOf(schema, 'family2-0')).status).toBe('CANCELLED');
  });

  it('an old run that never heard of the cancel stops at its next step once another process resumed the workflow', async () => {
    // Process A stops hearing notifications: the cancel below does not reach its running workflow.
    await (a.get(DBOS_SYSTEM_DATABASE) as DbosDatabase).listener.close();
    await a.get(WorkflowClient).start(Jobs, { workflowId: 'fenced' }).steady(12, 150);
    await waitFor(() => runs.some((r) => r.workflowId === 'fenced' && r.step === 2));

    const other = b.get(WorkflowClient);
    await other.cancel('fenced');
    await other.resume('fenced');
    const resumedAt = Date.now();
    expect(await other.retrieve('fenced').getResult({ timeoutMs: 20_000 })).toBe('own-b');

    const byA = runs.filter((r) => r.workflowId === 'fenced' && r.executor === 'own-a' && r.at > resumedAt);
    // At most the step A was already in when B took over; never A's later steps.
    expect(byA.length).toBeLessThanOrEqual(1);
    const [row] = await sql<{ status: string; output: string }>(`SELECT status, output FROM "${schema}".workflow_status WHERE workflow_id = 'fenced'`);
    expect(row.status).toBe('SUCCESS');
  });
});

describe('queued work runs once, within its limits', () => {
  const schema = uniqueSchema('ownq');
  const queues = [
    { name: 'single', concurrency: 1 },
    { name: 'per-worker', workerConcurrency: 1 },
    { name: 'tenants', partitioned: true },
  ];
  let a: INestApplicationContext;
  let b: INestApplicationContext;

  beforeAll(async () => {
    a = await app(schema, 'q-a', { queues, recovery: { executorLeaseMs: 1_000 } });
    b = await app(schema, 'q-b', { queues, recovery: { executorLeaseMs: 1_000 } });
  });

  afterAll(async () => {
    await a.close();
    await b.close();
    await dropSchema(schema);
  });

  beforeEach(() => {
    intervals.length = 0;
  });

  it('two processes serving a partitioned queue never run the same workflow', async () => {
    const client = a.get(WorkflowClient);
    const ids: string[] = [];
    for (let i = 0; i < 150; i++) {
      const handle = await client.enqueue({ workflowName: 'Jobs.steady', queue: 'tenants', partitionKey: `t${i % 3}`, workflowId: `part-${i}` }, 1, 0);
      ids.push(handle.workflowId);
    }
    await waitFor(async () => {
      const [row] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE status = 'SUCCESS' AND queue_name = 'tenants'`);
      return row.n === ids.length;
    }, 30_000);
    const perWorkflow = new Map<string, number>();
    for (const r of runs.filter((r) => r.workflowId.startsWith('part-'))) perWorkflow.set(r.workflowId, (perWorkflow.get(r.workflowId) ?? 0) + 1);
    expect([...perWorkflow.values()].filter((n) => n > 1)).toEqual([]);
    expect(perWorkflow.size).toBe(ids.length);
  });

  it('a resumed queued workflow goes back through its queue: the concurrency limit holds', async () => {
    const client = a.get(WorkflowClient);
    // Holds the queue's only slot until it gets a message.
    await client.enqueue({ workflowName: 'Jobs.waitForGo', queue: 'single', workflowId: 'holder' });
    await waitFor(async () => (await statusOf(schema, 'holder')).status === 'PENDING');
    await client.start(Jobs, { queue: 'single', workflowId: 'waiter' }).queued('w');
    await client.cancel('waiter');
    await client.resume('waiter');
    await waitFor(async () => (await statusOf(schema, 'waiter')).status === 'ENQUEUED', { what: 'the resumed waiter back on its queue' });
    await quietPeriod(500, 'the waiter started past the limit of 1 would show now');
    expect((await statusOf(schema, 'waiter')).status).toBe('ENQUEUED');
    await client.send('holder', 'go', 'go');
    expect(await client.retrieve('waiter').getResult({ timeoutMs: 10_000 })).toBe('w');
  });

  it('a fork of a queued workflow is enqueued on that queue, with its partition', async () => {
    const client = a.get(WorkflowClient);
    const source = await client.start(Jobs, { queue: 'tenants', partitionKey: 'acme', workflowId: 'fork-src' }).queued('f');
    await source.getResult({ timeoutMs: 10_000 });
    const fork = await client.fork('fork-src', { fromStep: 0, workflowId: 'fork-copy' });
    const row = await statusOf(schema, 'fork-copy');
    expect(row.partition_key).toBe('acme');
    expect(await fork.getResult({ timeoutMs: 10_000 })).toBe('f');
    const [queued] = await sql<{ queue_name: string }>(`SELECT queue_name FROM "${schema}".workflow_status WHERE workflow_id = 'fork-copy'`);
    expect(queued.queue_name).toBe('tenants');
  });

  it('workflows adopted from a dead executor respect workerConcurrency', async () => {
    const old = Date.now() - 60_000;
    for (let i = 0; i < 4; i++) {
      await sql(
        `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, class_name, inputs, executor_id, application_version,
                                                  queue_name, started_at, created_at, updated_at)
         VALUES ($1, 'PENDING', 'Jobs.queued', 'Jobs', $2, 'dead-exec', $3, 'per-worker', $4, $4, $4)`,
        [`orphan-${i}`, serialize([`o${i}`]), VERSION, old],
      );
    }
    for (let i = 0; i < 4; i++) expect(await a.get(WorkflowClient).retrieve(`orphan-${i}`).getResult({ timeoutMs: 20_000 })).toBe(`o${i}`);
    // Two processes with workerConcurrency 1 each: never more than two at once.
    expect(maxOverlap(intervals)).toBeLessThanOrEqual(2);
    const [row] = await sql<{ n: number }>(`SELECT count(DISTINCT executor_id)::int AS n FROM "${schema}".workflow_status WHERE workflow_id LIKE 'orphan-%'`);
    expect(row.n).toBeGreaterThanOrEqual(1);
  });
});

describe('partitioned claims (no process runs these rows: only the claims are raced)', () => {
  const schema = uniqueSchema('ownclaim');
  afterAll(() => dropSchema(schema));

  it('concurrent claims of a partitioned queue never hand out one workflow twice', async () => {
    const now = Date.now();
    await SystemDatabase.open({ url: databaseUrl(), schema, runMigrations: true }).then((db) => db.close());
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, inputs, application_version, queue_name, partition_key, created_at, updated_at)
       SELECT 'race-' || i, 'ENQUEUED', 'Jobs.queued', '[]', $1, 'race', 'k' || (i % 3), $2::bigint + i, $2::bigint + i FROM generate_series(1, 800) i`,
      [VERSION, now],
    );
    const dbs = await Promise.all(Array.from({ length: 4 }, () => SystemDatabase.open({ url: databaseUrl(), schema, runMigrations: true, poolSize: 2 })));
    try {
      const claimed: string[] = [];
      await Promise.all(
        dbs.map(async (db, n) => {
          const queues = new QueueRepository(db);
          for (let round = 0; round < 1_000; round++) {
            const rows = await queues.claim({
              queue: { name: 'race', partitioned: true },
              executorId: `claimer-${n}`,
              applicationVersion: VERSION,
              workflowNames: ['Jobs.queued'],
              max: 2,
            });
            if (rows.length === 0) return;
            claimed.push(...rows.map((r) => r.row.workflowId));
          }
        }),
      );
      expect(claimed.length - new Set(claimed).size).toBe(0);
      expect(new Set(claimed).size).toBe(800);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });
});
