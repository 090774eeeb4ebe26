import { SystemDatabase } from '../../lib/system-database/system.database';
import { createRepositories, type SystemRepositories } from '../../lib/system-database/system.repositories';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { newRow, stepRow } from '../support/repositories';

// A new schema: the named statements get their generic plans while the tables are a few pages
// long. Without fresh statistics those plans stay while the tables grow, and the batched
// checkpoint fence reads all of workflow_status for every batch (a hash join over a seq scan).
describe('planner statistics of a new schema that grows fast', () => {
  let db: SystemDatabase;
  let repos: SystemRepositories;
  const schema = uniqueSchema('tablestats');

  beforeAll(async () => {
    // One connection: every statement below is prepared, and its plan cached, on it.
    db = await SystemDatabase.open({ url: databaseUrl(), schema, runMigrations: true, poolSize: 1 });
    repos = createRepositories(db);
  });
  afterAll(async () => {
    await db?.close();
    await dropSchema(schema);
  });

  /** Checkpoints of two workflows at once: one batched statement (the unnest form). */
  async function checkpointPair(a: string, b: string, stepId: number): Promise<void> {
    const results = await Promise.all([repos.checkpoints.record(stepRow(a, stepId), 0), repos.checkpoints.record(stepRow(b, stepId), 0)]);
    expect(results).toEqual([{ recorded: true }, { recorded: true }]);
  }

  it('analyses the tables as they double, so no cached plan reads all of workflow_status per batch', async () => {
    await Promise.all(['tiny-a', 'tiny-b'].map((id) => repos.lifecycle.insert(newRow(id))));
    // More than five executions on the tiny table: Postgres caches a generic plan of the batch.
    for (let s = 0; s < 8; s++) await checkpointPair('tiny-a', 'tiny-b', s);

    // Growth, in batches of 64 as concurrent starts send them.
    const total = 8_000;
    for (let i = 0; i < total; i += 64) {
      await Promise.all(Array.from({ length: 64 }, (_, k) => repos.lifecycle.insert(newRow(`grown-${i + k}`))));
    }
    while (await repos.statistics.settled());
    await checkpointPair('tiny-a', 'tiny-b', 8);

    const [stats] = await sql<{ last_analyze: Date | null }>(
      `SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'workflow_status'`,
      [schema],
    );
    expect(stats.last_analyze).not.toBeNull();

    // The plan this connection uses now for the batch (its generic one, forced), on the grown table.
    const client = await db.connect();
    try {
      const { rows: prepared } = await client.query<{ name: string; parameter_types: string }>(
        `SELECT name, parameter_types::text FROM pg_prepared_statements
          WHERE statement LIKE '%INSERT INTO%operation_outputs%unnest(%' AND statement NOT LIKE '%WITH u AS%'`,
      );
      expect(prepared).toHaveLength(1);
      const types = prepared[0].parameter_types.replace(/[{}]/g, '').split(',');
      const args = types.map((t, i) => (i === 0 ? `'{tiny-a,tiny-b}'::${t}` : t.startsWith('text') ? `'{x,y}'::${t}` : `'{1,1}'::${t}`));
      await client.query(`SET plan_cache_mode = force_generic_plan`);
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE ${prepared[0].name}(${args.join(', ')})`);
      await client.query(`RESET plan_cache_mode`);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).not.toMatch(/Seq Scan on workflow_status/);
      expect(plan).toMatch(/Index Scan using workflow_status_pkey/);
    } finally {
      client.release();
    }
  });

  it('does not analyse a table that has not doubled since its statistics', async () => {
    await sql(`ANALYZE "${schema}".workflow_status`);
    await sql(`ANALYZE "${schema}".operation_outputs`);
    await repos.lifecycle.insert(newRow('one-more'));
    expect(await repos.statistics.refresh()).toEqual([]);
  });
});
