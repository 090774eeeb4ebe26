/**
 * Writes migrations/schema.snapshot.sql: `pg_dump --schema-only` of a system schema freshly
 * migrated on DATABASE_URL (default: the local service), normalised so that it only changes when
 * the schema does (no comments, SET lines or version headers; the schema name and its
 * notification channel as the placeholders `{schema}` and `{channel}`). pg_dump must be of the
 * server's major version. test/integration/schema-snapshot.spec.ts checks the file against the
 * migrations. Run: npm run schema:snapshot
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { notificationChannel } from '../lib/system-database/schema-name.util';
import { SystemDatabase } from '../lib/system-database/system.database';

const SNAPSHOT = path.join(__dirname, '..', 'migrations', 'schema.snapshot.sql');

/** The dump without what differs between runs and servers, with placeholders for the names. */
export function normaliseDump(dump: string, schema: string): string {
  const kept = dump
    .split('\n')
    .filter((line) => !/^(--|SET |SELECT pg_catalog\.set_config|\\(un)?restrict )/.test(line))
    .join('\n')
    .replaceAll(notificationChannel(schema), '{channel}')
    .replaceAll(schema, '{schema}');
  return `${kept.replace(/\n{3,}/g, '\n\n').trim()}\n`;
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const schema = `snapshot_${randomBytes(4).toString('hex')}`;
  const db = await SystemDatabase.open({ url, schema, runMigrations: true });
  await db.close();
  try {
    const dump = execFileSync('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', `--schema=${schema}`, url], { encoding: 'utf8' });
    writeFileSync(SNAPSHOT, normaliseDump(dump, schema));
    console.log(`Wrote ${path.relative(process.cwd(), SNAPSHOT)}`);
  } finally {
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA "${schema}" CASCADE`);
    await client.end();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
