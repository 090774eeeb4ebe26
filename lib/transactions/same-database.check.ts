import { DbosConfigurationError } from '../errors/configuration.error';
import type { TransactionAdapter } from '../interfaces/transaction-adapter.interface';

/** Which database a connection is on: its name and its server's start time (two servers never share one). */
const WHERE_AM_I = `SELECT current_database() || ' (server up since ' || pg_postmaster_start_time()::text || ')' AS database,
                           to_regclass($1::text) IS NOT NULL AS has_checkpoints`;

/**
 * At startup, with the app's own ORM for `@Transaction`: its transactions must reach the system
 * schema of the system database, since each one writes its checkpoint there. An ORM pointed at
 * another database (or another server) is refused with what to change, instead of every
 * `@Transaction` failing later.
 */
export async function checkSameDatabase(
  adapter: TransactionAdapter,
  /** The system schema's checkpoint table, quoted (`"dbos".operation_outputs`). */
  checkpoints: string,
  systemQuery: (text: string, values: unknown[]) => Promise<Record<string, unknown>[]>,
): Promise<void> {
  const mismatch = await databaseMismatch((text, values) => adapter.transaction((tx) => adapter.query(tx, text, values), {}), checkpoints, systemQuery);
  if (mismatch === null) return;
  throw new DbosConfigurationError(
    `The ${adapter.name} client given as \`transactions\` is connected to ${mismatch}. ` +
      '@Transaction methods write their checkpoint in the system schema inside the same transaction: point the ORM at the same database as database.url.',
  );
}

/**
 * Null when a connection of the app (`appQuery`) is on the system database and sees its system
 * schema (`checkpoints`, its checkpoint table, quoted); otherwise what it is connected to instead,
 * as the middle of an error message: "<app database>, but the system database is <database>[ and ...]".
 */
export async function databaseMismatch(
  appQuery: (text: string, values: unknown[]) => Promise<Record<string, unknown>[]>,
  checkpoints: string,
  systemQuery: (text: string, values: unknown[]) => Promise<Record<string, unknown>[]>,
): Promise<string | null> {
  const [system] = await systemQuery(WHERE_AM_I, [checkpoints]);
  const [app] = await appQuery(WHERE_AM_I, [checkpoints]);
  if (app?.database === system?.database && app?.has_checkpoints) return null;
  return (
    `${String(app?.database ?? 'an unknown database')}, but the system database is ${String(system?.database)}` +
    `${app?.database === system?.database ? ` and ${checkpoints} is not visible to it` : ''}`
  );
}
