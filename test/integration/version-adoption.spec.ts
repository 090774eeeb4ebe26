import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, Step, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { run } from '../../lib/cli/cli.runner';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

const shipped: string[] = [];

@Injectable()
class OldShipping {
  constructor(private readonly dbos: DbosContext) {}

  @Step({ name: 'shipping.reserve' }) async reserve(id: string): Promise<string> {
    return `res-${id}`;
  }

  @Step({ name: 'shipping.ship' }) async ship(id: string): Promise<void> {
    shipped.push(`old:${id}`);
  }

  @Workflow({ name: 'shipping.flow' })
  async flow(id: string): Promise<string | null> {
    await this.reserve(id);
    const go = await this.dbos.recv<string>('go', { timeoutMs: 120_000 });
    await this.ship(id);
    return go;
  }
}

/** The next build: the same steps for most orders, a new first step for the "div-" ones. */
@Injectable()
class NewShipping {
  constructor(private readonly dbos: DbosContext) {}

  @Step({ name: 'shipping.reserve' }) async reserve(id: string): Promise<string> {
    return `res-${id}`;
  }

  @Step({ name: 'shipping.checkFraud' }) async checkFraud(): Promise<void> {}

  @Step({ name: 'shipping.ship' }) async ship(id: string): Promise<void> {
    shipped.push(`new:${id}`);
  }

  @Workflow({ name: 'shipping.flow' })
  async flow(id: string): Promise<string | null> {
    if (id.startsWith('div')) await this.checkFraud();
    else await this.reserve(id);
    const go = await this.dbos.recv<string>('go', { timeoutMs: 120_000 });
    await this.ship(id);
    return go;
  }
}

describe('a new version adopts the PENDING workflows of a version no executor runs any more', () => {
  const schema = uniqueSchema('veradopt');
  const apps: INestApplicationContext[] = [];
  const lease = { recovery: { executorLeaseMs: 1_000 } };

  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await dropSchema(schema);
  });

  const versionOf = async (id: string) =>
    (
      await sql<{ application_version: string; status: string }>(`SELECT application_version, status FROM ${schema}.workflow_status WHERE workflow_id = $1`, [
        id,
      ])
    )[0];

  it('adopts the compatible ones exactly once, leaves the divergent one PENDING on its version', async () => {
    const old = await createDbosApp([OldShipping], { schema, executorId: 'old-exec', ...lease });
    const oldClient = old.get(WorkflowClient);
    for (const id of ['ok-1', 'ok-2', 'div-1']) await oldClient.start(OldShipping, { workflowId: id }).flow(id);
    await waitFor(async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.operation_outputs`))[0].n >= 6, {
      what: 'six steps recorded',
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    const oldVersion = (await versionOf('ok-1')).application_version;
    await old.close(); // its executor is gone: nothing runs version oldVersion now

    const next = await createDbosApp([NewShipping], { schema, executorId: 'new-exec', ...lease });
    apps.push(next);
    const client = next.get(WorkflowClient);
    await waitFor(async () => (await versionOf('ok-1')).application_version !== oldVersion && (await versionOf('ok-2')).application_version !== oldVersion, {
      what: 'ok-1 and ok-2 adopted by the new version',
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    const newVersion = (await versionOf('ok-1')).application_version;
    for (const id of ['ok-1', 'ok-2', 'div-1']) await client.send(id, 'go', 'go');
    await expect(client.retrieve('ok-1').getResult({ timeoutMs: 15_000 })).resolves.toBe('go');
    await expect(client.retrieve('ok-2').getResult({ timeoutMs: 15_000 })).resolves.toBe('go');
    expect(shipped.sort()).toEqual(['new:ok-1', 'new:ok-2']);
    expect(await versionOf('div-1')).toEqual({ application_version: oldVersion, status: 'PENDING' });
    expect(newVersion).not.toBe(oldVersion);
    let listed = '';
    const exitCode = await run(['versions', '--schema', schema, '--lease', '1s'], {
      stdout: (text) => (listed += text),
      stderr: (text) => (listed += text),
      env: { DATABASE_URL: databaseUrl() },
    });
    expect(exitCode).toBe(0);
    expect(listed).toContain(`div-1  shipping.flow  version ${oldVersion}`);
    expect(listed).toContain(`nestjs-dbos workflows fork div-1 --from-step N --app-version ${newVersion}`);
    expect(listed).toContain('nestjs-dbos workflows cancel div-1');
    expect(listed).not.toContain('ok-1  shipping.flow');

    // The old version comes back: it runs its own divergent workflow, and nothing a second time.
    const back = await createDbosApp([OldShipping], { schema, executorId: 'old-exec', ...lease });
    apps.push(back);
    await expect(back.get(WorkflowClient).retrieve('div-1').getResult({ timeoutMs: 15_000 })).resolves.toBe('go');
    expect(shipped.sort()).toEqual(['new:ok-1', 'new:ok-2', 'old:div-1']);
    const steps = await sql<{ workflow_id: string; n: number }>(
      `SELECT workflow_id, count(*)::int AS n FROM ${schema}.operation_outputs GROUP BY workflow_id ORDER BY workflow_id`,
    );
    expect(steps).toEqual([
      { workflow_id: 'div-1', n: 4 },
      { workflow_id: 'ok-1', n: 4 },
      { workflow_id: 'ok-2', n: 4 },
    ]);
  }, 60_000);
});
