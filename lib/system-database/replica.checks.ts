import { delay } from '../common/delay.util';
import { DbosConfigurationError } from '../errors/configuration.error';
import type { Sql } from './sql';

/** A standby may not have replayed a migration the primary applied a moment ago: it gets this long to catch up. */
const CATCH_UP_MS = 5_000;

export interface ReplicaCheckTarget {
  /** The replica's statements, on the replica only (never a fallback). */
  replica: Sql;
  primary: Sql;
  schema: string;
  replicaTarget: string;
  primaryTarget: string;
}

/**
 * Checks that `database.readUrl` is a hot standby of the system database: it has the system
 * schema, with every migration the primary has (else DbosConfigurationError), and is a standby of
 * the primary's server (same system identifier, when the role may read it). Returns a warning for
 * a server that is not in recovery (the primary itself, or a promoted standby): reads go there
 * without lag, so nothing is wrong, but nothing is offloaded either.
 */
export async function checkReplica(target: ReplicaCheckTarget): Promise<string | undefined> {
  const { replica, replicaTarget, primaryTarget, schema } = target;
  const [state] = await replica.unnamed<{ standby: boolean; migrated: boolean }>(
    `SELECT pg_is_in_recovery() AS standby, to_regclass('{schema}.migrations') IS NOT NULL AS migrated`,
  );
  if (!state.migrated) {
    throw new DbosConfigurationError(
      `database.readUrl (${replicaTarget}) has no system schema "${schema}": it is not a replica of the system database ${primaryTarget}. ` +
        `Point readUrl at a hot standby of that database (same database name), or remove it.`,
    );
  }
  await waitForMigrations(target, state.standby);
  const [replicaId, primaryId] = await Promise.all([systemIdentifier(replica), systemIdentifier(target.primary)]);
  if (replicaId !== undefined && primaryId !== undefined && replicaId !== primaryId) {
    throw new DbosConfigurationError(
      `database.readUrl (${replicaTarget}) is another Postgres server (system identifier ${replicaId}), not a standby of ${primaryTarget} ` +
        `(${primaryId}): its workflows are not this app's. Point readUrl at a hot standby of the system database, or remove it.`,
    );
  }
  if (state.standby) return undefined;
  return (
    `database.readUrl (${replicaTarget}) is not a hot standby (pg_is_in_recovery() is false): ` +
    `${replicaId === primaryId && replicaId !== undefined ? 'it is the primary itself, or a standby promoted out of recovery' : 'a primary server'}. ` +
    `Management reads go there (read-only), without lag but without offloading the primary.`
  );
}

/** The replica has every migration the primary has; a standby gets CATCH_UP_MS to replay one applied just now. */
async function waitForMigrations(target: ReplicaCheckTarget, standby: boolean): Promise<void> {
  const applied = await migrationNames(target.primary);
  const giveUpAt = Date.now() + (standby ? CATCH_UP_MS : 0);
  for (;;) {
    const present = new Set(await migrationNames(target.replica));
    const missing = applied.filter((name) => !present.has(name));
    if (missing.length === 0) return;
    if (Date.now() >= giveUpAt) {
      throw new DbosConfigurationError(
        `database.readUrl (${target.replicaTarget}) has an older system schema "${target.schema}" than ${target.primaryTarget} ` +
          `(missing migrations ${missing.join(', ')}): it is a copy of another database, or a standby whose replay is stopped. ` +
          `Point readUrl at a hot standby of the system database (and let it catch up), or remove it.`,
      );
    }
    await delay(100);
  }
}

async function migrationNames(sql: Sql): Promise<string[]> {
  return (await sql.unnamed<{ name: string }>(`SELECT name FROM {schema}.migrations ORDER BY id`)).map((row) => row.name);
}

/** The server's system identifier (the same on a primary and its physical standbys); undefined when the role may not read it. */
async function systemIdentifier(sql: Sql): Promise<string | undefined> {
  try {
    return (await sql.unnamed<{ id: string }>(`SELECT system_identifier::text AS id FROM pg_control_system()`))[0]?.id;
  } catch (err) {
    if ((err as { code?: unknown }).code === '42501') return undefined; // insufficient_privilege
    throw err;
  }
}
