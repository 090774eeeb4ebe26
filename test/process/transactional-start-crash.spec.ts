import { WorkflowClient } from '../../lib';
import { ChildApp } from '../support/child-app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { quietPeriod } from '../support/wait';

describe("start(Type, { entityManager }) with a real SIGKILL right after the app's commit", () => {
  const schema = uniqueSchema('txstart_crash');
  const appSchema = uniqueSchema('txstart_crash_app');
  const children: ChildApp[] = [];
  let client: WorkflowClient | undefined;

  const startApp = (executorId: string, env: Record<string, string> = {}) => {
    const child = ChildApp.start('transactional-start-app.ts', { DBOS_SCHEMA: schema, APP_SCHEMA: appSchema, EXECUTOR_ID: executorId, ...env });
    children.push(child);
    return child;
  };
  const runs = (workflowId: string) => sql<{ executor_id: string }>(`SELECT executor_id FROM "${appSchema}".runs WHERE workflow_id = $1`, [workflowId]);

  beforeAll(async () => {
    await sql(
      `CREATE SCHEMA "${appSchema}"; CREATE TABLE "${appSchema}".orders (id text PRIMARY KEY);
       CREATE TABLE "${appSchema}".runs (id serial PRIMARY KEY, workflow_id text NOT NULL, executor_id text NOT NULL)`,
    );
  });
  afterAll(async () => {
    // The second app runs until here; the first died of its own SIGKILL.
    await Promise.all(children.map((c) => c.kill('SIGKILL')));
    await client?.close();
    await Promise.all([dropSchema(schema), dropSchema(appSchema)]);
  });

  it('the committed workflow is run, exactly once, by another process', async () => {
    const first = startApp('txstart-first', { TX_START: 'order-1' });
    expect(await first.waitForExit()).toBeNull(); // died of its own SIGKILL, right after the commit
    expect(first.process.signalCode).toBe('SIGKILL');
    expect(await sql(`SELECT id FROM "${appSchema}".orders`)).toEqual([{ id: 'order-1' }]);
    client = await WorkflowClient.connect({ database: { url: databaseUrl() }, schema });
    expect(await client.getStatus('order-1')).toMatchObject({ status: 'ENQUEUED', executorId: null });
    expect(await runs('order-1')).toEqual([]);

    const second = startApp('txstart-second');
    await second.waitForOutput(/READY/);
    await expect(client.retrieve('order-1').getResult({ timeoutMs: 30_000 })).resolves.toBe('shipped order-1');
    expect(await client.getStatus('order-1')).toMatchObject({ status: 'SUCCESS', executorId: 'txstart-second', recoveryAttempts: 0 });
    await quietPeriod(500, 'a second execution of the workflow');
    expect(await runs('order-1')).toEqual([{ executor_id: 'txstart-second' }]);
  });
});
