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
  const { replica, replicaTarget, primaryTarget } = target;
  const [{ standby }] = await replica.unnamed<{ standby: boolean }>(`SELECT pg_is_in_recovery() AS standby`);
  await waitForSchema(target, standby);
  const [replicaId, primaryId] = await Promise.all([systemIdentifier(replica), systemIdentifier(target.primary)]);
  if (replicaId !== undefined && primaryId !== undefined && replicaId !== primaryId) {
    throw new DbosConfigurationError(
      `database.readUrl (${replicaTarget}) is another Postgres server (system identifier ${replicaId}), not a standby of ${primaryTarget} ` +
        `(${primaryId}): its workflows are not this app's. Point readUrl at a hot standby of the system database, or remove it.`,
    );
  }
  if (standby) return undefined;
  return (
    `database.readUrl (${replicaTarget}) is not a hot standby (pg_is_in_recovery() is false): ` +
    `${replicaId === primaryId && replicaId !== undefined ? 'it is the primary itself, or a standby promoted out of recovery' : 'a primary server'}. ` +
    `Management reads go there (read-only), without lag but without offloading the primary.`
  );
}

/**
 * The replica has the system schema with every migration the primary has. A standby that has not
 * yet replayed the primary's WAL as of the migrations read gets CATCH_UP_MS to replay what the
 * primary applied a moment ago (this process's own migrations); one that has is judged at once.
 */
async function waitForSchema(target: ReplicaCheckTarget, standby: boolean): Promise<void> {
  const applied = await migrationNames(target.primary);
  const primaryLsn = standby ? await currentLsn(target.primary) : undefined;
  const giveUpAt = Date.now() + (standby ? CATCH_UP_MS : 0);
  for (;;) {
    const caughtUp = primaryLsn === undefined || (await replayedUpTo(target.replica, primaryLsn));
    const present = await migrationNames(target.replica);
    const missing = present && applied?.filter((name) => !present.includes(name));
    if (missing?.length === 0) return;
    if ((standby && caughtUp) || Date.now() >= giveUpAt) throw schemaMismatch(target, missing);
    await delay(100);
  }
}

/** The primary's WAL position now; undefined when it is not a primary (then the standby gets the whole wait). */
async function currentLsn(primary: Sql): Promise<string | undefined> {
  const [row] = await primary.unnamed<{ lsn: string | null }>(`SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS lsn`);
  return row?.lsn ?? undefined;
}

async function replayedUpTo(replica: Sql, lsn: string): Promise<boolean> {
  const [row] = await replica.unnamed<{ done: boolean | null }>(`SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done`, [lsn]);
  return row?.done === true;
}

function schemaMismatch({ replicaTarget, primaryTarget, schema }: ReplicaCheckTarget, missing: string[] | undefined): DbosConfigurationError {
  const fix = `Point readUrl at a hot standby of the system database (same database name, replay running), or remove it.`;
  if (!missing) {
    return new DbosConfigurationError(
      `database.readUrl (${replicaTarget}) has no system schema "${schema}": it is not a replica of the system database ${primaryTarget}. ${fix}`,
    );
  }
  return new DbosConfigurationError(
    `database.readUrl (${replicaTarget}) has an older system schema "${schema}" than ${primaryTarget} (missing migrations ${missing.join(', ')}): ` +
      `it is a copy of another database, or a standby whose replay is stopped. ${fix}`,
  );
}

/** The applied migrations of the system schema; undefined when it has none (no migrations table). */
async function migrationNames(sql: Sql): Promise<string[] | undefined> {
  const [{ migrated }] = await sql.unnamed<{ migrated: boolean }>(`SELECT to_regclass('{schema}.migrations') IS NOT NULL AS migrated`);
  if (!migrated) return undefined;
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
