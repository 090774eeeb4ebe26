import * as path from 'node:path';
import { WorkflowClient } from '../../lib';
import { ChildApp } from '../support/child-app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

/** Debounced calls collapse across real processes sharing one database, and a burst outlives the process that called. */
describe('debounce across processes', () => {
  const schema = uniqueSchema('dbnc');
  const apps: ChildApp[] = [];
  let client: WorkflowClient;

  const startApp = async (executorId: string): Promise<ChildApp> => {
    const app = ChildApp.run(path.join('test', 'fixtures', 'debounce-app.ts'), { env: { DBOS_SCHEMA: schema, EXECUTOR_ID: executorId }, stdin: true });
    apps.push(app);
    await app.waitForOutput(/READY/, 60_000);
    return app;
  };
  /** Sends a command (see the fixture) and resolves with `[value, workflowId]` of each call once it printed DONE. */
  const debounceIn = async (app: ChildApp, command: { key: string; periodMs: number; values: string[] }): Promise<[string, string][]> => {
    const done = (app.stdout.match(/^DONE$/gm) ?? []).length;
    app.process.stdin!.write(`${JSON.stringify(command)}\n`);
    await waitFor(() => (app.stdout.match(/^DONE$/gm) ?? []).length > done || !app.running, {
      what: `the calls of ${command.values[0]}...`,
      timeoutMs: 60_000,
    });
    const called = [...app.stdout.matchAll(/^CALLED (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]] as [string, string]);
    return called.filter(([value]) => command.values.includes(value));
  };
  const runs = (workflowId: string) =>
    sql<{ value: string; executor: string }>(`SELECT value, executor FROM "${schema}".runs WHERE workflow_id = $1`, [workflowId]);

  beforeAll(async () => {
    await startApp('a'); // migrates first, alone
    await startApp('b');
    client = await WorkflowClient.connect({ database: { url: databaseUrl() }, schema });
  }, 120_000);
  afterAll(async () => {
    await client?.close();
    await Promise.all(apps.map((app) => app.kill('SIGTERM')));
    await dropSchema(schema);
  });

  it('100 debounced calls from two processes give exactly one run, with the last arguments, and one workflow id', async () => {
    const [a, b] = apps;
    const key = 'acceptance';
    // Long enough that the 100 calls (and the wait for both processes) stay within one burst on a loaded machine.
    const periodMs = 10_000;
    const values = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);
    // 99 calls from both processes at once; then the 100th, from b, is the last one.
    const concurrent = await Promise.all([
      debounceIn(a, { key, periodMs, values: values('a', 0, 50) }),
      debounceIn(b, { key, periodMs, values: values('b', 0, 49) }),
    ]);
    const last = await debounceIn(b, { key, periodMs, values: ['b49'] });
    const calls = [...concurrent.flat(), ...last];
    expect(calls).toHaveLength(100);
    const workflowId = calls[0][1];
    expect(new Set(calls.map(([, id]) => id))).toEqual(new Set([workflowId]));

    await expect(client.retrieve(workflowId).getResult({ timeoutMs: 60_000 })).resolves.toBe('b49');
    await quietPeriod(2_000, 'a second run, in either process');
    expect((await runs(workflowId)).map((r) => r.value)).toEqual(['b49']);
    const started = await sql(`SELECT workflow_id FROM "${schema}".workflow_status WHERE workflow_name = 'DebounceWork.record'`);
    expect(started).toEqual([{ workflow_id: workflowId }]);
    expect(await sql(`SELECT count(*)::int AS n FROM "${schema}".runs`)).toEqual([{ n: 1 }]);
  }, 120_000);

  it('a process SIGKILLed in the middle of a burst: the burst runs once, at its time, after a restart', async () => {
    await apps[1].kill('SIGTERM'); // only the killed process's restart may run it
    const caller = apps[0];
    const calls = await debounceIn(caller, { key: 'restart', periodMs: 4_000, values: ['r1', 'r2', 'r3'] });
    await caller.kill('SIGKILL');
    const workflowId = calls[0][1];
    expect(calls.map(([, id]) => id)).toEqual([workflowId, workflowId, workflowId]);
    const [waiting] = await sql<{ status: string; started_at: string | null }>(
      `SELECT status, started_at FROM "${schema}".workflow_status WHERE workflow_id = $1`,
      [workflowId],
    );
    expect(waiting).toEqual({ status: 'ENQUEUED', started_at: null }); // the burst was still waiting when the process died

    await startApp('a');
    await expect(client.retrieve(workflowId).getResult({ timeoutMs: 60_000 })).resolves.toBe('r3');
    await quietPeriod(1_000, 'a second run');
    expect(await runs(workflowId)).toEqual([{ value: 'r3', executor: 'a' }]);
    const [ran] = await sql<{ started_at: string; delay_until: string }>(
      `SELECT started_at, delay_until FROM "${schema}".workflow_status WHERE workflow_id = $1`,
      [workflowId],
    );
    expect(Number(ran.started_at)).toBeGreaterThanOrEqual(Number(ran.delay_until)); // not before its time
  }, 120_000);
});
