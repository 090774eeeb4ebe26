import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set (the global setup sets it)');
  return url;
}

/**
 * The module's `database` options for the tests: DATABASE_URL, through a pooler when the run says
 * so (DBOS_POOLER=transaction|session and DBOS_LISTEN_URL, set by test/support/with-pgbouncer.ts).
 */
export function databaseOptions(url = databaseUrl()): { url: string; pooler?: 'transaction' | 'session'; listenUrl?: string } {
  const pooler = process.env.DBOS_POOLER as 'transaction' | 'session' | undefined;
  return pooler ? { url, pooler, listenUrl: process.env.DBOS_LISTEN_URL } : { url };
}

/** A schema name of its own for one suite, so suites never see each other's workflows. */
export function uniqueSchema(prefix: string): string {
  return `t_${prefix}_${randomBytes(4).toString('hex')}`;
}

/** One statement on the test database, on a connection of its own. */
export function sql<R = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<R[]> {
  return sqlAt(databaseUrl(), text, values);
}

/** One statement on the database at `url` (another server than the test database), on a connection of its own. */
export async function sqlAt<R = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as R[];
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
