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
  const [system] = await systemQuery(WHERE_AM_I, [checkpoints]);
  const [app] = await adapter.transaction((tx) => adapter.query<{ database: string; has_checkpoints: boolean }>(tx, WHERE_AM_I, [checkpoints]), {});
  if (app?.database === system?.database && app?.has_checkpoints) return;
  throw new DbosConfigurationError(
    `The ${adapter.name} client given as \`transactions\` is connected to ${app?.database ?? 'an unknown database'}, ` +
      `but the system database is ${String(system?.database)}${app?.database === system?.database ? ` and ${checkpoints} is not visible to it` : ''}. ` +
      '@Transaction methods write their checkpoint in the system schema inside the same transaction: point the ORM at the same database as database.url.',
  );
}
