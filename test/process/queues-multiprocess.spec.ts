import { WorkflowClient } from '../../lib';
import { ChildApp } from '../support/child-app';
import { dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { maxOverlap, waitFor } from '../support/wait';

/** Queue limits hold across real processes sharing one database. */
describe('durable queues across processes', () => {
  const schema = uniqueSchema('mq');
  const workers: ChildApp[] = [];
  let client: WorkflowClient;

  const startWorker = async (executorId: string) => {
    const worker = ChildApp.start('queue-worker.ts', { DBOS_SCHEMA: schema, EXECUTOR_ID: executorId });
    workers.push(worker);
    await worker.waitForOutput(/READY/, 60_000);
    return worker;
  };

  beforeAll(async () => {
    await startWorker('w1'); // migrates first, alone
    await Promise.all([startWorker('w2'), startWorker('w3')]);
    client = await WorkflowClient.connect({ database: databaseOptions(), schema });
  }, 120_000);
  afterAll(async () => {
    await client?.close();
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    await dropSchema(schema);
  });

  it('global concurrency 2 with 3 processes and 60 workflows never has more than 2 running at once', async () => {
    const handles = [];
    for (let i = 0; i < 60; i++) handles.push(await client.enqueue({ workflowName: 'QueueWork.timed', queue: 'limited', workflowId: `lim-${i}` }, 30));
    await Promise.all(handles.map((h) => h.getResult({ timeoutMs: 60_000 })));
    const runs = await sql<{ s: number; e: number }>(
      `SELECT extract(epoch FROM started_at) * 1000 AS s, extract(epoch FROM ended_at) * 1000 AS e FROM "${schema}".runs WHERE workflow_id LIKE 'lim-%'`,
    );
    expect(runs).toHaveLength(60);
    expect(maxOverlap(runs.map((r) => [Number(r.s), Number(r.e)]))).toBe(2);
    const executors = await sql<{ executor_id: string }>(`SELECT DISTINCT executor_id FROM "${schema}".workflow_status WHERE workflow_id LIKE 'lim-%'`);
    expect(executors.length).toBeGreaterThan(1); // the work was shared, and still the limit held
  }, 90_000);

  it('a rate limit of 5 per second over 20 workflows starts them in waves no faster than the limit', async () => {
    const handles = [];
    for (let i = 0; i < 20; i++) handles.push(await client.enqueue({ workflowName: 'QueueWork.timed', queue: 'throttled', workflowId: `rate-${i}` }, 1));
    await Promise.all(handles.map((h) => h.getResult({ timeoutMs: 60_000 })));
    const starts = (
      await sql<{ s: string }>(`SELECT started_at AS s FROM "${schema}".workflow_status WHERE workflow_id LIKE 'rate-%' ORDER BY started_at`)
    ).map((r) => Number(r.s));
    expect(starts).toHaveLength(20);
    for (let i = 5; i < starts.length; i++) {
      expect(starts[i] - starts[i - 5]).toBeGreaterThanOrEqual(1_000); // any 6 consecutive starts span at least one period
    }
    expect(starts[19] - starts[0]).toBeLessThan(10_000);
  }, 60_000);

  it('a worker SIGKILLed mid-queue loses nothing and runs nothing twice, within the limits', async () => {
    const handles = [];
    for (let i = 0; i < 30; i++) handles.push(await client.enqueue({ workflowName: 'QueueWork.threeEffects', queue: 'work', workflowId: `kill-${i}` }, 40));
    await waitFor(async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".effects WHERE executor = 'w1'`))[0].n >= 2, 30_000, 20);
    await workers[0].kill('SIGKILL');
    workers[0] = await startWorker('w1'); // same executor id: its PENDING workflows are recovered
    const results = await Promise.all(handles.map((h) => h.getResult({ timeoutMs: 60_000 })));
    expect(results).toEqual(Array(30).fill('done'));
    const effects = await sql<{ workflow_id: string; step: number; n: number }>(
      `SELECT workflow_id, step, count(*)::int AS n FROM "${schema}".effects WHERE workflow_id LIKE 'kill-%' GROUP BY 1, 2`,
    );
    expect(effects).toHaveLength(90);
    expect(effects.every((e) => e.n === 1)).toBe(true);
    const runs = await sql<{ s: number; e: number }>(
      `SELECT extract(epoch FROM started_at) * 1000 AS s, extract(epoch FROM ended_at) * 1000 AS e FROM "${schema}".runs WHERE workflow_id LIKE 'kill-%'`,
    );
    expect(runs).toHaveLength(30);
    expect(maxOverlap(runs.map((r) => [Number(r.s), Number(r.e)]))).toBeLessThanOrEqual(6);
    const recovered = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE workflow_id LIKE 'kill-%' AND recovery_attempts > 0`,
    );
    expect(recovered[0].n).toBeGreaterThan(0);
  }, 120_000);
});
