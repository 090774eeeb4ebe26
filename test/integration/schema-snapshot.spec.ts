import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SystemDatabase } from '../../lib/system-database/system.database';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { describeSchema, snapshotFor } from '../support/schema-catalog';

const SNAPSHOT = path.join(__dirname, '..', '..', 'migrations', 'schema.snapshot.sql');

describe('migrations/schema.snapshot.sql', () => {
  const migrated = uniqueSchema('snap_migrated');
  const loaded = uniqueSchema('snap_loaded');

  beforeAll(async () => {
    const db = await SystemDatabase.open({ url: databaseUrl(), schema: migrated, runMigrations: true });
    await db.close();
    await sql(snapshotFor(readFileSync(SNAPSHOT, 'utf8'), loaded));
  });

  afterAll(async () => {
    await dropSchema(migrated);
    await dropSchema(loaded);
  });

  it('is the schema the migrations build (else run `npm run schema:snapshot` and commit the file)', async () => {
    const fromMigrations = await describeSchema(migrated);
    expect(fromMigrations.length).toBeGreaterThan(50);
    expect(await describeSchema(loaded)).toEqual(fromMigrations);
  });

  it('tells a changed schema from the snapshot: one more index, or a trigger that notifies under another name', async () => {
    const before = await describeSchema(loaded);
    await sql(`CREATE INDEX extra_idx ON "${loaded}".workflow_status (class_name)`);
    const withIndex = await describeSchema(loaded);
    expect(withIndex.filter((line) => !before.includes(line))).toEqual([
      'index extra_idx: CREATE INDEX extra_idx ON {schema}.workflow_status USING btree (class_name)',
    ]);
    await sql(`DROP INDEX "${loaded}".extra_idx`);
    await sql(
      `CREATE OR REPLACE FUNCTION "${loaded}".notify_status() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_notify('another_channel', 'status:' || NEW.workflow_id); RETURN NULL; END $$`,
    );
    const changed = (await describeSchema(loaded)).filter((line) => !before.includes(line));
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatch(/^function notify_status\(\): .*another_channel/s);
  });
});
