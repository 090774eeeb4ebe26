import { WorkflowClient } from '../../lib';
import { ChildApp } from '../support/child-app';
import { dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { generatedPrismaClient, ORM_NAMES } from '../support/orms';

describe.each(ORM_NAMES)('@Transaction on %s, with a real SIGKILL right after the commit', (orm) => {
  const schema = uniqueSchema(`orm_crash_${orm.replace('-', '_')}`);
  const appSchema = uniqueSchema('orm_crash_app');
  const children: ChildApp[] = [];
  let client: WorkflowClient | undefined;

  const startApp = (env: Record<string, string> = {}) => {
    const child = ChildApp.start('orm-crash-app.ts', { DBOS_SCHEMA: schema, APP_SCHEMA: appSchema, ORM: orm, ...env });
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    if (orm === 'prisma') generatedPrismaClient(); // generated once here, not by two children at once
    await sql(`CREATE SCHEMA "${appSchema}"; CREATE TABLE "${appSchema}".ledger (id serial PRIMARY KEY, account text NOT NULL, amount int NOT NULL)`);
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')));
  });
  afterAll(async () => {
    await client?.close();
    await dropSchema(schema);
    await dropSchema(appSchema);
  });

  it('the restarted app does not apply the transaction again, and the workflow finishes', async () => {
    const id = `pay-${orm}`;
    const first = startApp({ START_WORKFLOW: id, CRASH_AFTER_TRANSACTION: '1' });
    expect(await first.waitForExit()).toBeNull(); // died of its own SIGKILL
    expect(first.process.signalCode).toBe('SIGKILL');
    expect(await sql(`SELECT amount FROM "${appSchema}".ledger WHERE account = $1`, [id])).toEqual([{ amount: 10 }]);

    const second = startApp();
    await second.waitForOutput(/READY/);
    client = await WorkflowClient.connect({ database: databaseOptions(), schema });
    await expect(client.retrieve(id).getResult({ timeoutMs: 30_000 })).resolves.toEqual([`credited-${id}`, `notified-${id}`]);
    expect(await sql(`SELECT amount FROM "${appSchema}".ledger WHERE account = $1`, [id])).toEqual([{ amount: 10 }]);
    expect((await client.listSteps(id)).map((s) => s.name)).toEqual(['Payments.credit', 'Payments.notify']);
    expect(await client.retrieve(id).getStatus()).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1 });
  });
});
