import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosConfigurationError, DbosConflictError, DbosTimeoutError, QueueRegistry, Step, Workflow, WorkflowClient, DbosContext } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

const gates = new Map<string, () => void>();
const openGate = (name: string) => gates.get(name)?.();

@Injectable()
class Jobs {
  static started: { id: string; at: number }[] = [];

  constructor(private readonly dbos: DbosContext) {}

  @Step() async hold(gate: string | null): Promise<void> {
    Jobs.started.push({ id: this.dbos.workflowId!, at: Date.now() });
    if (gate) await new Promise<void>((resolve) => gates.set(gate, resolve));
  }

  @Workflow() async job(gate: string | null, value: number): Promise<number> {
    await this.hold(gate);
    return value;
  }

  @Workflow() async sleepy(ms: number): Promise<void> {
    await this.hold(null);
    await this.dbos.sleep(ms);
  }
}

describe('durable queues (one process)', () => {
  const schema = uniqueSchema('queue');
  let app: INestApplicationContext;
  let client: WorkflowClient;

  beforeAll(async () => {
    app = await createDbosApp([Jobs], {
      schema,
      queues: [
        { name: 'serial', workerConcurrency: 1 },
        { name: 'ranked', workerConcurrency: 1, priorityEnabled: true },
        { name: 'tenants', partitioned: true, partitionConcurrency: 1 },
        { name: 'open' },
      ],
    });
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    for (const open of gates.values()) open();
    await app.close();
    await dropSchema(schema);
  });
  beforeEach(() => {
    Jobs.started = [];
  });

  it('a queued workflow is ENQUEUED until claimed, and list({ queue, status }) shows it', async () => {
    const first = await client.start(Jobs, { queue: 'serial', workflowId: 'serial-1' }).job('serial-gate', 1);
    await waitFor(() => Jobs.started.length === 1);
    const second = await client.start(Jobs, { queue: 'serial', workflowId: 'serial-2' }).job(null, 2);
    await quietPeriod(100, 'serial-2 claimed past the limit of 1 would show now');
    expect((await second.getStatus())!.status).toBe('ENQUEUED');
    expect((await client.list({ queue: 'serial', status: 'ENQUEUED' })).map((w) => w.workflowId)).toEqual(['serial-2']);
    expect((await client.list({ queue: 'serial', status: 'PENDING' })).map((w) => w.workflowId)).toEqual(['serial-1']);
    expect(await client.queueStats()).toEqual(expect.arrayContaining([{ queue: 'serial', enqueued: 1, running: 1 }]));
    openGate('serial-gate');
    await expect(first.getResult({ timeoutMs: 10_000 })).resolves.toBe(1);
    await expect(second.getResult({ timeoutMs: 10_000 })).resolves.toBe(2);
    expect((await second.getStatus())!.queue).toBe('serial');
  });

  it('starts within milliseconds of the enqueue (NOTIFY, not a polling interval)', async () => {
    const enqueuedAt = Date.now();
    const handle = await client.start(Jobs, { queue: 'open' }).job(null, 3);
    await handle.getResult({ timeoutMs: 10_000 });
    expect(Jobs.started[0].at - enqueuedAt).toBeLessThan(1_000);
  });

  it('enqueue by workflow name from a standalone client, which does not have the class', async () => {
    const outside = await WorkflowClient.connect({ database: databaseOptions(), schema });
    try {
      const handle = await outside.enqueue<number>({ workflowName: 'Jobs.job', queue: 'open' }, null, 42);
      await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toBe(42);
    } finally {
      await outside.close();
    }
  });

  it('runs lower priority numbers first, FIFO within a priority', async () => {
    await client.start(Jobs, { queue: 'ranked', workflowId: 'ranked-blocker' }).job('ranked-gate', 0);
    await waitFor(() => Jobs.started.length === 1);
    const plan: [string, number][] = [
      ['p5-a', 5],
      ['p1-a', 1],
      ['p5-b', 5],
      ['p0', 0],
      ['p1-b', 1],
    ];
    const handles = [];
    for (const [id, priority] of plan) handles.push(await client.start(Jobs, { queue: 'ranked', workflowId: id, priority }).job(null, priority));
    openGate('ranked-gate');
    await Promise.all(handles.map((h) => h.getResult({ timeoutMs: 10_000 })));
    expect(Jobs.started.map((s) => s.id)).toEqual(['ranked-blocker', 'p0', 'p1-a', 'p1-b', 'p5-a', 'p5-b']);
  });

  it('a duplicate deduplication id is refused while the first is queued or running, and free once it completes', async () => {
    const first = await client.start(Jobs, { queue: 'open', deduplicationId: 'order-7' }).job('dedup-gate', 7);
    await waitFor(() => Jobs.started.length === 1);
    await expect(client.start(Jobs, { queue: 'open', deduplicationId: 'order-7' }).job(null, 8)).rejects.toThrow(DbosConflictError);
    const same = await client.start(Jobs, { queue: 'open', deduplicationId: 'order-7', onDuplicate: 'return-existing' }).job(null, 9);
    expect(same.workflowId).toBe(first.workflowId);
    openGate('dedup-gate');
    await first.getResult({ timeoutMs: 10_000 });
    const again = await client.start(Jobs, { queue: 'open', deduplicationId: 'order-7' }).job(null, 10);
    await expect(again.getResult({ timeoutMs: 10_000 })).resolves.toBe(10);
  });

  it('applies the concurrency limit per partition key', async () => {
    const handles = [];
    for (const tenant of ['a', 'b']) {
      for (let i = 0; i < 3; i++) {
        handles.push(await client.start(Jobs, { queue: 'tenants', partitionKey: tenant, workflowId: `t-${tenant}-${i}` }).job(`t-${tenant}-${i}`, i));
      }
    }
    await waitFor(() => Jobs.started.length === 2);
    await quietPeriod(200, 'a second start within a partition would show now');
    expect(Jobs.started.map((s) => s.id).sort()).toEqual(['t-a-0', 't-b-0']);
    for (let i = 0; i < 3; i++) {
      openGate(`t-a-${i}`);
      openGate(`t-b-${i}`);
      await waitFor(() => Jobs.started.length === Math.min(6, 2 * (i + 2)) || i === 2);
    }
    await Promise.all(handles.map((h) => h.getResult({ timeoutMs: 10_000 })));
    expect(Jobs.started).toHaveLength(6);
  });

  it('does not start a delayed workflow before its delay', async () => {
    const enqueuedAt = Date.now();
    const handle = await client.start(Jobs, { queue: 'open', delayMs: 600 }).job(null, 1);
    await handle.getResult({ timeoutMs: 10_000 });
    expect(Jobs.started[0].at - enqueuedAt).toBeGreaterThanOrEqual(600);
    expect(Jobs.started[0].at - enqueuedAt).toBeLessThan(3_000);
  });

  it('a queued workflow’s timeout counts from when it is dequeued', async () => {
    const handle = await client.start(Jobs, { queue: 'open', timeoutMs: 300, delayMs: 500 }).sleepy(5_000);
    await expect(handle.getResult({ timeoutMs: 10_000 })).rejects.toThrow(DbosTimeoutError);
    expect(Jobs.started).toHaveLength(1); // it did start: the 500 ms in the queue did not use up its 300 ms
  });

  it('refuses an undeclared queue, a priority on a FIFO queue and a partitioned enqueue without a key', async () => {
    await expect(client.start(Jobs, { queue: 'nope' }).job(null, 1)).rejects.toThrow(/Queue "nope" is not declared/);
    await expect(client.start(Jobs, { queue: 'open', priority: 3 }).job(null, 1)).rejects.toThrow(DbosConfigurationError);
    await expect(client.start(Jobs, { queue: 'tenants' }).job(null, 1)).rejects.toThrow(/needs a partitionKey/);
  });

  it('a queue registered at runtime is dispatched', async () => {
    app.get(QueueRegistry).register({ name: 'late', workerConcurrency: 2 });
    const handle = await client.start(Jobs, { queue: 'late' }).job(null, 5);
    await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toBe(5);
    expect(() => app.get(QueueRegistry).register({ name: 'late', workerConcurrency: 3 })).toThrow(/already registered/);
    const rows = await sql(`SELECT queue_name FROM "${schema}".workflow_status WHERE workflow_id = $1`, [handle.workflowId]);
    expect(rows).toEqual([{ queue_name: 'late' }]);
  });
});
