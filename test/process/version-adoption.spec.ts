import { WorkflowClient } from '../../lib';
import { ChildApp } from '../support/child-app';
import { dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { waitFor } from '../support/wait';

describe('a deploy of changed code with real processes', () => {
  const schema = uniqueSchema('verproc');
  const children: ChildApp[] = [];
  let client: WorkflowClient | undefined;

  const start = (build: string, executorId: string, ids = '') => {
    const child = ChildApp.start('version-app.ts', { DBOS_SCHEMA: schema, APP_BUILD: build, DBOS_EXECUTOR_ID: executorId, START: ids });
    children.push(child);
    return child;
  };
  const row = async (id: string) =>
    (
      await sql<{ application_version: string; status: string }>(`SELECT application_version, status FROM "${schema}".workflow_status WHERE workflow_id = $1`, [
        id,
      ])
    )[0];
  const effects = async () => (await sql<{ e: string }>(`SELECT workflow_id || ' ' || step AS e FROM "${schema}".side_effects ORDER BY 1`)).map((r) => r.e);

  beforeAll(async () => {
    await sql(`CREATE SCHEMA "${schema}"`);
    await sql(`CREATE TABLE "${schema}".side_effects (workflow_id text, step text, pid int)`);
  });
  afterAll(async () => {
    for (const child of children) if (child.running) await child.kill();
    await client?.close();
    await dropSchema(schema);
  });

  it('compatible workflows finish once on the new code, the divergent one stays on its version, nothing runs twice', async () => {
    const old = start('v1', 'old-exec', 'ok-1,ok-2,div-1');
    await old.waitForOutput(/READY/);
    await waitFor(async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".operation_outputs`))[0].n >= 6, 20_000);
    const oldVersion = (await row('ok-1')).application_version;
    await old.kill('SIGKILL');

    const next = start('v2', 'new-exec');
    await next.waitForOutput(/READY/);
    await waitFor(async () => (await row('ok-1')).application_version !== oldVersion && (await row('ok-2')).application_version !== oldVersion, 30_000, 100);
    await next.waitForOutput(/div-1 \(shipping\.flow\) of version "\w+" stays PENDING on its version: it diverges from this code at step 0/, 10_000);
    client = await WorkflowClient.connect({ database: databaseOptions(), schema });
    for (const id of ['ok-1', 'ok-2', 'div-1']) await client.send(id, 'go', 'go');
    await expect(client.retrieve('ok-1').getResult({ timeoutMs: 20_000 })).resolves.toBe('go');
    await expect(client.retrieve('ok-2').getResult({ timeoutMs: 20_000 })).resolves.toBe('go');
    expect(await effects()).toEqual(['ok-1 ship v2', 'ok-2 ship v2']);
    expect(await row('div-1')).toEqual({ application_version: oldVersion, status: 'PENDING' });
    expect(next.log.match(/div-1 \(shipping\.flow\) of version/g)).toHaveLength(1);

    const back = start('v1', 'old-exec');
    await expect(client.retrieve('div-1').getResult({ timeoutMs: 30_000 })).resolves.toBe('go');
    await back.waitForOutput(/READY/);
    expect(await effects()).toEqual(['div-1 ship v1', 'ok-1 ship v2', 'ok-2 ship v2']);
  }, 120_000);
});
