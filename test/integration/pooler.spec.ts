import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, DbosHealthIndicator, DbosWorkflowCancelledError, Step, Workflow, WorkflowClient, type DatabaseOptions } from '../../lib';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { PgBouncer, pgbouncerMissing } from '../support/pgbouncer';
import { waitFor } from '../support/wait';

@Injectable()
class Orders {
  static effects: string[] = [];

  constructor(private readonly dbos: DbosContext) {}

  @Step() async record(what: string): Promise<string> {
    Orders.effects.push(`${this.dbos.workflowId}:${what}`);
    return what;
  }

  @Workflow() async threeSteps(id: string): Promise<string[]> {
    return [await this.record(`${id}-a`), await this.record(`${id}-b`), await this.record(`${id}-c`)];
  }

  @Workflow() async inbox(count: number): Promise<unknown[]> {
    const received: unknown[] = [];
    for (let i = 0; i < count; i++) received.push(await this.dbos.recv('orders', { timeoutMs: 20_000 }));
    return received;
  }

  @Workflow() async publisher(): Promise<string> {
    await this.dbos.setEvent('status', 'started');
    await this.dbos.recv('go', { timeoutMs: 20_000 });
    await this.dbos.setEvent('status', 'done');
    return 'published';
  }

  @Workflow() async job(value: number): Promise<number> {
    await this.record(`job-${value}`);
    return value * 2;
  }

  @Step() async waitForAbort(): Promise<string> {
    const signal = this.dbos.abortSignal!;
    await this.record('waiting');
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    await this.record('aborted');
    throw new Error('stopped by abort');
  }

  @Workflow() async cancellable(): Promise<void> {
    await this.waitForAbort();
  }
}

const missing = pgbouncerMissing();
const suite = missing ? describe.skip : describe;

/** Everything through PgBouncer in transaction mode; notifications by polling, or by a direct LISTEN connection. */
suite.each([
  { label: 'polling (no listenUrl)', direct: false },
  { label: 'LISTEN on listenUrl', direct: true },
])(`through PgBouncer in transaction mode, $label${missing ? ` (skipped: ${missing})` : ''}`, ({ direct }) => {
  const schema = uniqueSchema('pooler');
  let bouncer: PgBouncer;
  let app: INestApplicationContext | undefined;
  let client: WorkflowClient;
  let database: DatabaseOptions;

  beforeAll(async () => {
    // Fewer server connections than the module's pools would like: statements of different clients share them.
    bouncer = await PgBouncer.start({ poolMode: 'transaction', poolSize: 4 });
    database = { url: bouncer.url(databaseUrl()), pooler: 'transaction', ...(direct ? { listenUrl: databaseUrl() } : {}) };
    app = await createDbosApp([Orders], { schema, database, queues: [{ name: 'serial', workerConcurrency: 1 }, { name: 'open' }] });
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app?.close();
    await bouncer?.stop();
    await dropSchema(schema);
  });
  beforeEach(() => {
    Orders.effects = [];
  });

  it('runs workflows with steps, each step once, many at a time', async () => {
    const handles = await Promise.all(Array.from({ length: 20 }, (_, i) => client.start(Orders, { workflowId: `steps-${direct}-${i}` }).threeSteps(`w${i}`)));
    const results = await Promise.all(handles.map((h) => h.getResult({ timeoutMs: 20_000 })));
    expect(results[7]).toEqual(['w7-a', 'w7-b', 'w7-c']);
    expect(Orders.effects).toHaveLength(60);
    const steps = await sql<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".operation_outputs WHERE workflow_id LIKE $1`, [`steps-${direct}-%`]);
    expect(Number(steps[0].n)).toBe(60);
  });

  it('recv gets what send sent, in order; getEvent sees each event', async () => {
    const inbox = await client.start(Orders).inbox(3);
    for (const m of ['a', 'b', 'c']) await client.send(inbox.workflowId, m, 'orders');
    await expect(inbox.getResult({ timeoutMs: 10_000 })).resolves.toEqual(['a', 'b', 'c']);

    const publisher = await client.start(Orders).publisher();
    await expect(client.getEvent(publisher.workflowId, 'status', { timeoutMs: 10_000 })).resolves.toBe('started');
    await client.send(publisher.workflowId, 'now', 'go');
    await expect(publisher.getResult({ timeoutMs: 10_000 })).resolves.toBe('published');
    await expect(client.getEvent(publisher.workflowId, 'status', { timeoutMs: 1_000 })).resolves.toBe('done');
  });

  it('runs queued workflows within their limits, enqueued here and by a standalone client', async () => {
    const handles = await Promise.all([1, 2, 3, 4].map((n) => client.start(Orders, { queue: 'serial' }).job(n)));
    await expect(Promise.all(handles.map((h) => h.getResult({ timeoutMs: 20_000 })))).resolves.toEqual([2, 4, 6, 8]);
    const outside = await WorkflowClient.connect({ database: { ...database, url: database.url! }, schema });
    try {
      const handle = await outside.enqueue<number>({ workflowName: 'Orders.job', queue: 'open' }, 21);
      await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toBe(42);
    } finally {
      await outside.close();
    }
  });

  it('a cancel made by another process stops the running step', async () => {
    const handle = await client.start(Orders, { workflowId: `cancel-${direct}` }).cancellable();
    await waitFor(() => Orders.effects.includes(`${handle.workflowId}:waiting`));
    const outside = await WorkflowClient.connect({ database: { ...database, url: database.url! }, schema });
    try {
      const cancelledAt = Date.now();
      await outside.cancel(handle.workflowId);
      await waitFor(() => Orders.effects.includes(`${handle.workflowId}:aborted`), 5_000);
      // Heard at once with LISTEN; at the next poll (500 ms, jittered) without.
      expect(Date.now() - cancelledAt).toBeLessThan(direct ? 1_000 : 2_000);
      await expect(outside.retrieve(handle.workflowId).getResult({ timeoutMs: 5_000 })).rejects.toThrow(DbosWorkflowCancelledError);
    } finally {
      await outside.close();
    }
  });

  it('is ready: the listener is up on listenUrl, or polling without it', async () => {
    const health = await app!.get(DbosHealthIndicator).isReady('dbos');
    expect(health.dbos).toMatchObject({ status: 'up', database: 'up', listener: direct ? 'up' : 'polling' });
  });
});
