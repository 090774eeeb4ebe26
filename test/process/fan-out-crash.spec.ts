import { WorkflowClient } from '../../lib';
import { ChildApp } from '../support/child-app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

describe('a fan-out killed with SIGKILL while its children run', () => {
  const schema = uniqueSchema('fancrash');
  const children: ChildApp[] = [];
  let client: WorkflowClient | undefined;
  const N = 120;

  const startApp = (env: Record<string, string> = {}) => {
    const child = ChildApp.start('fan-out-app.ts', { DBOS_SCHEMA: schema, ...env });
    children.push(child);
    return child;
  };
  const effectCount = async () => Number((await sql<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".fan_effects`))[0].n);

  afterAll(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')));
    await client?.close();
    await dropSchema(schema);
  });

  it('the restarted parent enqueues no child again, each child runs once, and the parent returns every result in order', async () => {
    const first = startApp({ START_FAN: 'fan-parent', FAN_N: String(N) });
    await first.waitForOutput(/READY/);
    // Some children done, most still to run (4 at a time): the middle of the fan-out.
    await waitFor(async () => (await effectCount()) >= 10, { what: 'the first children to run', timeoutMs: 30_000 });
    expect(await first.kill('SIGKILL')).toBeNull();
    const ranBeforeKill = await effectCount();
    expect(ranBeforeKill).toBeLessThan(N);
    const statuses = await sql<{ status: string }>(`SELECT status FROM "${schema}".workflow_status WHERE workflow_id = 'fan-parent'`);
    expect(statuses).toEqual([{ status: 'PENDING' }]);

    const second = startApp();
    await second.waitForOutput(/READY/);
    client = await WorkflowClient.connect({ database: { url: databaseUrl() }, schema });
    const results = await client.retrieve<number[]>('fan-parent').getResult({ timeoutMs: 120_000 });
    expect(results).toEqual(Array.from({ length: N }, (_, i) => 10 * i));

    // No child enqueued twice: N child workflows, each with the id of the parent's start position.
    const childRows = await sql<{ workflow_id: string }>(`SELECT workflow_id FROM "${schema}".workflow_status WHERE parent_workflow_id = 'fan-parent'`);
    expect(childRows).toHaveLength(N);
    expect(new Set(childRows.map((r) => r.workflow_id))).toEqual(new Set(Array.from({ length: N }, (_, i) => `fan-parent-${i}`)));
    // Each child's effect exactly once (its transaction commits with its checkpoint), across both processes.
    const perChild = await sql<{ i: number; n: string; pids: string }>(
      `SELECT i, count(*) AS n, count(DISTINCT pid) AS pids FROM "${schema}".fan_effects GROUP BY i ORDER BY i`,
    );
    expect(perChild.map((r) => r.i)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(perChild.filter((r) => Number(r.n) !== 1)).toEqual([]);
    expect(new Set(perChild.map((r) => r.pids))).toEqual(new Set(['1']));
    // The recovered parent recorded one waitAll, after the N starts.
    const steps = await client.listSteps('fan-parent');
    expect(steps.map((s) => s.name)).toEqual([...Array.from({ length: N }, () => 'DBOS.startWorkflow'), 'DBOS.waitAll']);
    expect(await client.retrieve('fan-parent').getStatus()).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1 });
  }, 240_000);
});
