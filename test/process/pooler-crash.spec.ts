import { WorkflowClient } from '../../lib';
import { ChildApp } from '../support/child-app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { PgBouncer, pgbouncerMissing } from '../support/pgbouncer';

const missing = pgbouncerMissing();
const suite = missing ? describe.skip : describe;

/** The crash tests of crash.spec.ts with the app, its @Transaction pool and the client behind PgBouncer in transaction mode. */
suite(`a real SIGKILL behind PgBouncer in transaction mode${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const schema = uniqueSchema('poolcrash');
  let bouncer: PgBouncer;
  let client: WorkflowClient | undefined;
  const children: ChildApp[] = [];

  const startApp = (env: Record<string, string> = {}) => {
    const child = ChildApp.start('crash-app.ts', { DBOS_SCHEMA: schema, DATABASE_URL: bouncer.url(databaseUrl()), DBOS_POOLER: 'transaction', ...env });
    children.push(child);
    return child;
  };
  const effects = async (workflowId: string) =>
    (await sql<{ step: string }>(`SELECT step FROM "${schema}".side_effects WHERE workflow_id = $1 ORDER BY step`, [workflowId])).map((r) => r.step);
  const connectClient = async () => (client ??= await WorkflowClient.connect({ database: { url: bouncer.url(databaseUrl()), pooler: 'transaction' }, schema }));

  beforeAll(async () => {
    bouncer = await PgBouncer.start({ poolMode: 'transaction', poolSize: 4 });
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')));
  });
  afterAll(async () => {
    await client?.close();
    await bouncer?.stop();
    await dropSchema(schema);
  });

  it('killed inside the @Transaction (polling), the open transaction is rolled back and the restarted app runs it once', async () => {
    const first = startApp({ START_WORKFLOW: 'pool-crash-in-tx', HANG_IN_TRANSACTION: '1' });
    await first.waitForOutput(/IN_TRANSACTION/);
    expect(await first.kill('SIGKILL')).toBeNull();
    // PgBouncer closes the server connection of a client gone mid-transaction: Postgres rolls it back.
    expect(await effects('pool-crash-in-tx')).toEqual(['validatePayment']);

    const second = startApp();
    await second.waitForOutput(/READY/);
    const c = await connectClient();
    await expect(c.retrieve('pool-crash-in-tx').getResult({ timeoutMs: 30_000 })).resolves.toEqual(['paid-o-1', 'reserved-o-1', 'shipped-o-1']);
    expect(await effects('pool-crash-in-tx')).toEqual(['reserveStock', 'ship', 'validatePayment']);
    expect(await c.retrieve('pool-crash-in-tx').getStatus()).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1 });
  });

  it('killed right after the @Transaction commits (LISTEN on listenUrl), the restarted app does not run it again', async () => {
    const first = startApp({ START_WORKFLOW: 'pool-crash-after-tx', CRASH_AFTER_TRANSACTION: '1', DBOS_LISTEN_URL: databaseUrl() });
    expect(await first.waitForExit()).toBeNull();
    expect(first.process.signalCode).toBe('SIGKILL');
    expect(await effects('pool-crash-after-tx')).toEqual(['reserveStock', 'validatePayment']);

    const second = startApp({ DBOS_LISTEN_URL: databaseUrl() });
    await second.waitForOutput(/READY/);
    const c = await connectClient();
    await expect(c.retrieve('pool-crash-after-tx').getResult({ timeoutMs: 30_000 })).resolves.toEqual(['paid-o-1', 'reserved-o-1', 'shipped-o-1']);
    expect(await effects('pool-crash-after-tx')).toEqual(['reserveStock', 'ship', 'validatePayment']);
  });
});
