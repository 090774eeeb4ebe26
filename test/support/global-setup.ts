import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../lib/embedded-postgres/embedded-postgres.server';

declare global {
  var __DBOS_TEST_PG__: EmbeddedPostgresHandle | undefined;
}

/** Tests use DATABASE_URL when it is set, else an embedded Postgres started here for the whole run. */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    console.log(`\nTests use DATABASE_URL (${redact(process.env.DATABASE_URL)})`);
    return;
  }
  const handle = await startEmbeddedPostgres({
    dir: '.dbos/test-pgdata',
    // DBOS_TEST_PG_PORT is used as given; without it 54330, or a free port when another project holds 54330.
    port: process.env.DBOS_TEST_PG_PORT ? Number(process.env.DBOS_TEST_PG_PORT) : undefined,
    defaultPort: 54330,
    log: (message) => console.log(`\n${message}`),
  });
  globalThis.__DBOS_TEST_PG__ = handle;
  process.env.DATABASE_URL = handle.url;
  console.log(`\nTests use an embedded Postgres (${redact(handle.url)}, data in ${handle.dataDir})`);
}

function redact(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@');
}
