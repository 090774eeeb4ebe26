import { SystemDatabase } from '../../lib/system-database/system.database';
import { ChildApp } from '../support/child-app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

const WORKFLOWS = 2_500;
const LEASE_MS = 2_000;
const HISTORY_WORKFLOWS = 2_000;
const HISTORY = 500_000;

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

  /** Fills, then (once `beforeKill` is done) SIGKILLs the filler with its workflows PENDING. */
  const fillAndKill = async (schema: string, executorId: string, workflows = WORKFLOWS, beforeKill?: () => Promise<unknown>) => {
    const filler = start(schema, { EXECUTOR_ID: executorId, FILL: String(workflows) });
    await filler.waitForOutput(/FILLED/, 180_000);
    await beforeKill?.();
    await filler.kill('SIGKILL');
    const pending = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE status = 'PENDING'`);
    expect(pending[0].n).toBe(workflows);
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
    // Both adopters are up before the executor dies, so neither finds its lease run out alone
    // (a slow start on a loaded machine would otherwise leave the whole takeover to the other).
    await fillAndKill(schema, 'bulk-dead', WORKFLOWS, async () => {
      const adopters = [start(schema, { EXECUTOR_ID: 'bulk-b' }), start(schema, { EXECUTOR_ID: 'bulk-c' })];
      await Promise.all(adopters.map((a) => a.waitForOutput(/READY/, 60_000)));
    });
    await expectEachStepOnce(schema);
    const spread = await sql<{ executor: string; n: number }>(
      `SELECT executor, count(DISTINCT workflow_id)::int AS n FROM "${schema}".effects WHERE step = 'second' GROUP BY executor ORDER BY executor`,
    );
    expect(spread.map((s) => s.executor)).toEqual(['bulk-b', 'bulk-c']);
    expect(spread.every((s) => s.n >= WORKFLOWS / 10)).toBe(true);
    const attempts = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE recovery_attempts = 1`);
    expect(attempts[0].n).toBe(WORKFLOWS);
  }, 400_000);

  /*
   * A restart costs the same on a schema months into production (finished workflows, statistics
   * taken over them while nothing was PENDING) as on an empty one: recovery reads what is PENDING
   * and looks each row up by key, never in proportion to the history. The bound is generous (2x);
   * the benchmark (`--history-rows`) is the measurement.
   */

  /** A migrated schema holding `rows` finished workflows (3 checkpoints each), analysed (as autovacuum leaves them). */
  async function schemaWithHistory(rows: number): Promise<string> {
    const schema = uniqueSchema('history');
    schemas.push(schema);
    const db = await SystemDatabase.open({ url: databaseUrl(), schema, runMigrations: true });
    await db.close();
    const t = `"${schema}"`;
    if (rows > 0) {
      await sql(
        `INSERT INTO ${t}.workflow_status (workflow_id, status, workflow_name, class_name, inputs, output, executor_id, application_version,
           created_at, updated_at, run_epoch)
         SELECT 'hist-' || g, 'SUCCESS', 'BulkWork.threeSteps', 'BulkWork', '[0]', '3', 'hist-a', 'v' || (g % 3), g, g, 1
           FROM generate_series(1, ${rows}) g`,
      );
      await sql(
        `INSERT INTO ${t}.operation_outputs (workflow_id, step_id, step_name, output)
         SELECT 'hist-' || g, s, 'step', '1' FROM generate_series(1, ${rows}) g, generate_series(0, 2) s`,
      );
      await sql(`VACUUM ANALYZE ${t}.workflow_status`);
      await sql(`VACUUM ANALYZE ${t}.operation_outputs`);
    }
    return schema;
  }

  /** Ms from the killed executor's restart (its module started) until all its PENDING workflows finished. */
  async function restartMs(schema: string): Promise<number> {
    await fillAndKill(schema, 'hist-a', HISTORY_WORKFLOWS);
    const child = start(schema, { EXECUTOR_ID: 'hist-a' });
    await child.waitForOutput(/READY/, 120_000); // not counted: the child's start-up (its TypeScript compiled on the fly)
    const started = Date.now();
    await waitFor(
      async () =>
        (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE workflow_id LIKE 'bulk-%' AND status = 'SUCCESS'`))[0].n ===
        HISTORY_WORKFLOWS,
      180_000,
      100,
    );
    const elapsed = Date.now() - started;
    const steps = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".effects WHERE step = 'first'`);
    expect(steps[0].n).toBe(HISTORY_WORKFLOWS); // the recorded first steps were replayed, not run again
    return elapsed;
  }

  it(`${HISTORY_WORKFLOWS} PENDING workflows recover within 2x of an empty schema's time with ${HISTORY} finished ones in the tables`, async () => {
    const empty = await restartMs(await schemaWithHistory(0));
    const full = await restartMs(await schemaWithHistory(HISTORY));
    console.log(`restart of ${HISTORY_WORKFLOWS} PENDING: ${empty} ms on an empty schema, ${full} ms with ${HISTORY} finished workflows`);
    expect(full).toBeLessThan(2 * empty);
  }, 600_000);
});
