/**
 * Runs a command with the test database behind a real PgBouncer in transaction mode: the suites'
 * apps and clients connect through it (`databaseOptions()` reads DBOS_POOLER and DBOS_LISTEN_URL),
 * LISTEN goes straight to Postgres, as docs/poolers.md advises.
 *
 *   DATABASE_URL=postgres://... node -r ts-node/register/transpile-only test/support/with-pgbouncer.ts -- npx jest ...
 *
 * Exits with the command's status; without PgBouncer it says so and exits 1.
 */
import { spawn } from 'node:child_process';
import { PgBouncer, pgbouncerMissing } from './pgbouncer';

async function main(): Promise<number> {
  const direct = process.env.DATABASE_URL;
  const command = process.argv.slice(process.argv.indexOf('--') + 1);
  if (!direct || process.argv.indexOf('--') < 0 || command.length === 0) {
    console.error('usage: DATABASE_URL=... with-pgbouncer.ts -- <command...>');
    return 2;
  }
  const missing = pgbouncerMissing();
  if (missing) {
    console.error(`Cannot run through PgBouncer: ${missing}`);
    return 1;
  }
  // Server connections per database: enough for a suite's app, its clients and the test's own queries.
  const bouncer = await PgBouncer.start({ poolMode: 'transaction', poolSize: 40, targetUrl: direct });
  console.log(`PgBouncer (transaction mode) on port ${bouncer.port} in front of ${new URL(direct).host}`);
  try {
    const child = spawn(command[0], command.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, DATABASE_URL: bouncer.url(direct), DBOS_POOLER: 'transaction', DBOS_LISTEN_URL: direct },
    });
    return await new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await bouncer.stop();
  }
}

void main().then((code) => process.exit(code));
