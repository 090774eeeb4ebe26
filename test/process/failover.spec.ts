import { WorkflowClient } from '../../lib';
import { ChildApp } from '../support/child-app';
import { dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { maxOverlap, waitFor } from '../support/wait';

const LEASE_MS = 2_000;

/** Scale-out: an executor that dies and never comes back has its workflows adopted by the others. */
describe('failover between executors', () => {
  const schema = uniqueSchema('failover');
  const workers: ChildApp[] = [];
  let client: WorkflowClient;

  const startWorker = async (executorId: string) => {
    const worker = ChildApp.start('queue-worker.ts', { DBOS_SCHEMA: schema, EXECUTOR_ID: executorId, LEASE_MS: String(LEASE_MS) });
    workers.push(worker);
    await worker.waitForOutput(/READY/, 60_000);
    return worker;
  };

  beforeAll(async () => {
    await startWorker('f1');
    await Promise.all([startWorker('f2'), startWorker('f3')]);
    client = await WorkflowClient.connect({ database: databaseOptions(), schema });
  }, 120_000);
  afterAll(async () => {
    await client?.close();
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await dropSchema(schema);
  });

  it('3 processes, 300 workflows of 5 steps: one is SIGKILLed for good, the others finish everything exactly once within the limits', async () => {
    const handles = [];
    for (let i = 0; i < 300; i++)
      handles.push(await client.enqueue<number>({ workflowName: 'QueueWork.fiveEffects', queue: 'failover', workflowId: `fo-${i}` }, 20));
    await waitFor(async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".effects WHERE executor = 'f1'`))[0].n >= 20, 60_000, 20);
    const killedAt = Date.now();
    await workers[0].kill('SIGKILL'); // never restarted
    const orphaned = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE executor_id = 'f1' AND status = 'PENDING'`);
    expect(orphaned[0].n).toBeGreaterThan(0);

    const results = await Promise.all(handles.map((h) => h.getResult({ timeoutMs: 120_000 })));
    expect(results).toEqual(Array(300).fill(5));
    const adopted = await sql<{ last: string }>(
      `SELECT max(updated_at) AS last FROM "${schema}".workflow_status WHERE workflow_id LIKE 'fo-%' AND recovery_attempts > 0`,
    );
    expect(adopted[0].last).not.toBeNull();
    // Adopted after the lease, well within lease + margin of the kill.
    expect(Number(adopted[0].last) - killedAt).toBeLessThan(LEASE_MS * 4 + 5_000);
    const byExecutor = await sql<{ executor_id: string }>(
      `SELECT DISTINCT executor_id FROM "${schema}".workflow_status WHERE workflow_id LIKE 'fo-%' AND recovery_attempts > 0`,
    );
    expect(byExecutor.every((r) => r.executor_id !== 'f1')).toBe(true);

    const effects = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".effects WHERE workflow_id LIKE 'fo-%' GROUP BY workflow_id, step`);
    expect(effects).toHaveLength(1_500);
    expect(effects.every((e) => e.n === 1)).toBe(true);
    const runs = await sql<{ s: number; e: number }>(
      `SELECT extract(epoch FROM started_at) * 1000 AS s, extract(epoch FROM ended_at) * 1000 AS e FROM "${schema}".runs WHERE workflow_id LIKE 'fo-%'`,
    );
    expect(runs).toHaveLength(300);
    expect(maxOverlap(runs.map((r) => [Number(r.s), Number(r.e)]))).toBeLessThanOrEqual(30);
  }, 180_000);
});
