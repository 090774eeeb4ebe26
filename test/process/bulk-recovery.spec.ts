import { ChildApp } from '../support/child-app';
import { dropSchema, sql, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

const WORKFLOWS = 2_500;
const LEASE_MS = 2_000;

/**
 * Thousands of PENDING workflows after a SIGKILL: a restart of the same executor, or two live
 * executors taking over a dead one, finish every one of them, each step executed once (the first
 * step was recorded before the kill and is replayed, not run again).
 */
describe('bulk recovery after a SIGKILL', () => {
  const schemas: string[] = [];
  const children: ChildApp[] = [];

  afterAll(async () => {
    await Promise.all(children.map((c) => c.kill('SIGKILL')));
    for (const schema of schemas) await dropSchema(schema);
  });

  const start = (schema: string, env: Record<string, string>) => {
    const child = ChildApp.start('bulk-recovery-app.ts', { DBOS_SCHEMA: schema, LEASE_MS: String(LEASE_MS), ...env });
    children.push(child);
    return child;
  };

  const fillAndKill = async (schema: string, executorId: string) => {
    const filler = start(schema, { EXECUTOR_ID: executorId, FILL: String(WORKFLOWS) });
    await filler.waitForOutput(/FILLED/, 180_000);
    await filler.kill('SIGKILL');
    const pending = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE status = 'PENDING'`);
    expect(pending[0].n).toBe(WORKFLOWS);
  };

  const expectEachStepOnce = async (schema: string) => {
    await waitFor(
      async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE status = 'SUCCESS'`))[0].n === WORKFLOWS,
      120_000,
      200,
    );
    const steps = await sql<{ step: string; runs: number; workflows: number }>(
      `SELECT step, count(*)::int AS runs, count(DISTINCT workflow_id)::int AS workflows FROM "${schema}".effects GROUP BY step ORDER BY step`,
    );
    expect(steps).toEqual([
      { step: 'first', runs: WORKFLOWS, workflows: WORKFLOWS },
      { step: 'second', runs: WORKFLOWS, workflows: WORKFLOWS },
      { step: 'third', runs: WORKFLOWS, workflows: WORKFLOWS },
    ]);
    const outputs = await sql<{ bad: number }>(
      `SELECT count(*)::int AS bad FROM "${schema}".workflow_status
        WHERE output IS DISTINCT FROM (substring(workflow_id from 6)::int + 6)::text`,
    );
    expect(outputs[0].bad).toBe(0);
  };

  it(`restart: ${WORKFLOWS} PENDING workflows of the killed executor all finish after it starts again, each step once`, async () => {
    const schema = uniqueSchema('bulk_restart');
    schemas.push(schema);
    await fillAndKill(schema, 'bulk-a');
    start(schema, { EXECUTOR_ID: 'bulk-a' });
    await expectEachStepOnce(schema);
    const attempts = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE recovery_attempts = 1`);
    expect(attempts[0].n).toBe(WORKFLOWS);
  }, 400_000);

  it(`takeover: 2 live executors share the ${WORKFLOWS} PENDING workflows of a dead one and finish them, each step once`, async () => {
    const schema = uniqueSchema('bulk_takeover');
    schemas.push(schema);
    await fillAndKill(schema, 'bulk-dead');
    const adopters = [start(schema, { EXECUTOR_ID: 'bulk-b' }), start(schema, { EXECUTOR_ID: 'bulk-c' })];
    await Promise.all(adopters.map((a) => a.waitForOutput(/READY/, 60_000)));
    await expectEachStepOnce(schema);
    const spread = await sql<{ executor: string; n: number }>(
      `SELECT executor, count(DISTINCT workflow_id)::int AS n FROM "${schema}".effects WHERE step = 'second' GROUP BY executor ORDER BY executor`,
    );
    expect(spread.map((s) => s.executor)).toEqual(['bulk-b', 'bulk-c']);
    expect(spread.every((s) => s.n >= WORKFLOWS / 10)).toBe(true);
    const attempts = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE recovery_attempts = 1`);
    expect(attempts[0].n).toBe(WORKFLOWS);
  }, 400_000);
});
