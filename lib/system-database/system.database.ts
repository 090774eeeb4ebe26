import { createHash } from 'node:crypto';
import type { ClientConfig, Pool, PoolClient, QueryResultRow } from 'pg';
import { DataSource, MigrationExecutor, type DataSourceOptions } from 'typeorm';
import { backoff } from '../common/backoff.util';
import { DEFAULT_STARTUP_RETRY_MS } from '../dbos.constants';
import { describeTarget } from '../common/database-target.util';
import { delay } from '../common/delay.util';
import { DbosConfigurationError } from '../errors/configuration.error';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import { DbosError } from '../errors/dbos.error';
import { asUnavailable, isConnectionError, isCredentialsRefusal } from './connection-errors.util';
import {
  applicationNameOf,
  listenConnectionOf,
  namedStatementLost,
  poolerRefusal,
  systemDataSourceOptions,
  type SystemDatabaseConfig,
  type SystemLogger,
} from './connection.options';
import { PayloadCodec } from '../payloads/payload.codec';
import type { Queryable } from './queryable.interface';
import { ReadReplica } from './read.replica';
import { LoginGate } from './login.gate';
import { quoteSchemaName } from './schema-name.util';
import { SchemaStatements, sqlOver, type Sql, type StatementRunner } from './sql';
import { SYSTEM_MIGRATIONS } from '../../migrations';

/** The name the migrations table records for the newest migration of this version. */
const NEWEST_MIGRATION = new SYSTEM_MIGRATIONS[SYSTEM_MIGRATIONS.length - 1]().name!;

export type { SystemDatabaseConfig, SystemLogger } from './connection.options';

const consoleLogger: SystemLogger = { log: () => undefined, warn: (message) => console.warn(message) };

/**
 * Runs `attempt` until it succeeds; an unreachable database (a connection error) is retried with
 * backoff for `retryMs`, each retry reported; refused credentials are not (a configuration to fix). Any other error, or the last one, is thrown as it is.
 * `retryMs` bounds when attempts start, not when they end: an attempt begun within it that fails
 * is followed by one more, however long it hung (a socket opened during a partition stays dead
 * until its timeout, past a database that came back meanwhile).
 */
export async function retryWhileUnreachable<T>(retryMs: number, what: string, logger: SystemLogger, attempt: () => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + retryMs;
  for (let n = 1; ; n++) {
    const startedAt = Date.now();
    try {
      return await attempt();
    } catch (err) {
      if (!isConnectionError(err) || isCredentialsRefusal(err) || startedAt >= giveUpAt) throw err;
      const wait = Math.min(backoff(n), Math.max(0, giveUpAt - Date.now()));
      logger.warn(`Cannot ${what} (attempt ${n}): ${(err as Error).message}; retrying in ${wait} ms`);
      await delay(wait);
    }
  }
}

/** Key of the advisory lock that serializes migrations of one schema across processes. */
function migrationLockKey(schema: string): string {
  return createHash('sha256').update(`nestjs-dbos:migrate:${schema}`).digest().readBigInt64BE(0).toString();
}

/**
 * The system database: a TypeORM DataSource of its own (the migrations of the system schema) and
 * the statements of the repositories on its pg pool (see `Sql`).
 */
export class SystemDatabase implements Sql {
  private readonly statements: SchemaStatements;
  private replica?: ReadReplica;
  private readonly logins = new LoginGate();

  private constructor(
    readonly dataSource: DataSource,
    readonly schema: string,
    readonly target: string,
    private readonly logger: SystemLogger,
    private readonly config: SystemDatabaseConfig,
  ) {
    this.statements = new SchemaStatements(quoteSchemaName(schema), config.pooler !== 'transaction');
    this.logins.watch(this.pool);
  }

  static async open(config: SystemDatabaseConfig): Promise<SystemDatabase> {
    assertSchemaName(config.schema);
    const target = describeTarget(config);
    const logger = config.logger ?? consoleLogger;
    let connected = false;
    try {
      // A connection lost at any point of the startup (connecting, migrating) is retried until startupRetryMs.
      return await retryWhileUnreachable(config.startupRetryMs ?? DEFAULT_STARTUP_RETRY_MS, `reach ${target}`, logger, async () => {
        const dataSource = new DataSource(systemDataSourceOptions(config, true, 'system'));
        connected = false;
        try {
          await dataSource.initialize().catch((err: unknown) => {
            throw poolerRefusal(err, target) ?? err;
          });
          connected = true;
          const db = new SystemDatabase(dataSource, config.schema, target, logger, config);
          if (config.runMigrations) await db.migrate();
          await db.assertSchemaReady();
          if (config.readUrl) db.replica = await db.openReplica(config.readUrl);
          return db;
        } catch (err) {
          await dataSource.destroy().catch(() => undefined);
          throw err;
        }
      });
    } catch (err) {
      if (err instanceof DbosConfigurationError || (connected && !isConnectionError(err))) throw err;
      throw new DbosDatabaseUnavailableError(target, (err as Error).message);
    }
  }

  /**
   * Options for another DataSource on this database with the module's connection settings
   * (keepalive, connect timeout, error-safe clients): for migrations, without the statement
   * timeouts (an index build may take long), and for the app's @Transaction pool when the module
   * opened the database itself, with them (`statementTimeoutMs`): a connection a partition left
   * open and silent fails at the deadline there too, instead of holding its workflow forever.
   */
  companionDataSourceOptions(name: string, role: 'migrate' | 'transactions'): DataSourceOptions {
    // `name` is a TypeORM 0.3 option (1.x has none and ignores it).
    return { ...systemDataSourceOptions(this.config, role === 'transactions', role), name } as unknown as DataSourceOptions;
  }

  /** `application_name` of a connection of this role (`<applicationName>:<role>`), when one is configured. */
  applicationNameFor(role: string): string | undefined {
    return applicationNameOf(this.config, role);
  }

  get pool(): Pool {
    const pool = (this.dataSource.driver as unknown as { master?: Pool }).master;
    if (!pool || !this.dataSource.isInitialized) {
      throw new DbosError(`The workflow database connection (schema "${this.schema}") is closed: the app or client was shut down.`);
    }
    return pool;
  }

  /** The pool, unless a call now would open a connection while logins are refused (see LoginGate). */
  private admittedPool(): Pool {
    const pool = this.pool;
    this.logins.admit(pool, this.target);
    return pool;
  }

  /** Connection settings of the pool, for a dedicated connection of `role` (`listen`, `heartbeat`). */
  connectionConfig(role?: string): ClientConfig {
    const options = { ...(this.pool as unknown as { options: ClientConfig }).options };
    const applicationName = role === undefined ? undefined : this.applicationNameFor(role);
    return applicationName === undefined ? options : { ...options, application_name: applicationName };
  }

  /**
   * Where the LISTEN connection connects (`listenUrl`, else the pool's settings), or undefined
   * behind a transaction pooler without `listenUrl`: then waiters poll (see NotificationListener).
   */
  listenConnectionConfig(): ClientConfig | undefined {
    return listenConnectionOf(this.config, this.connectionConfig('listen'));
  }

  /** The stored form of payloads: every repository encodes the payload columns it writes and decodes those it reads through it. */
  get payloads(): PayloadCodec {
    return this.config.payloads ?? PayloadCodec.plain;
  }

  /** This database with payloads read and written through `codec` (the dashboard's display codec): the same pool and statements. */
  withPayloads(codec: PayloadCodec): SystemDatabase {
    return Object.create(this, { payloads: { value: codec } }) as SystemDatabase;
  }

  /** `pollIntervalMs` of the configuration (how often waiters poll without LISTEN), when set. */
  get pollIntervalMs(): number | undefined {
    return this.config.pollIntervalMs;
  }

  /**
   * Where management reads run (lists, step lists, queue stats, the dashboard): the replica of
   * `readUrl` when one is configured, else this database. Never for a decision (a replica lags).
   */
  get reads(): Sql {
    return this.replica ?? this;
  }

  private openReplica(readUrl: string): Promise<ReadReplica> {
    return ReadReplica.open({
      ...this.config,
      readUrl,
      primary: this,
      primaryTarget: this.target,
      connection: this.connectionConfig('replica'),
      statements: this.statements,
      schema: this.schema,
      pooler: this.config.pooler !== undefined,
      logger: this.logger,
    });
  }

  /** A named statement on the pool (see `Sql.query`); connection failures are DbosDatabaseUnavailableError. */
  async query<R extends QueryResultRow = QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    const pool = this.admittedPool();
    try {
      return (await pool.query<R>({ ...this.statements.prepared(text), values })).rows;
    } catch (err) {
      this.logins.observe(err);
      throw namedStatementLost(err) ?? asUnavailable(err, this.target);
    }
  }

  /** An unnamed statement on the pool (see `Sql.unnamed`); connection failures are DbosDatabaseUnavailableError. */
  async unnamed<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    const pool = this.admittedPool();
    try {
      return (await pool.query<R>(this.statements.text(text), values)).rows;
    } catch (err) {
      this.logins.observe(err);
      throw asUnavailable(err, this.target);
    }
  }

  /** The statements of this schema on one connection (a transaction's client, a dedicated connection), or through an app transaction's ORM. */
  on(connection: Queryable | StatementRunner): Sql {
    return sqlOver(connection, this.statements);
  }

  /**
   * A pooled client; connection failures are DbosDatabaseUnavailableError. While it is checked
   * out, an error on its connection (terminated backend, server restart) is caught here instead
   * of crashing the process, and the broken connection is discarded on release.
   */
  async connect(): Promise<PoolClient> {
    let client: PoolClient;
    const pool = this.admittedPool();
    try {
      client = await pool.connect();
    } catch (err) {
      this.logins.observe(err);
      throw asUnavailable(err, this.target);
    }
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    const release = client.release.bind(client);
    client.release = (err?: Error | boolean) => {
      client.off('error', onError);
      client.release = release;
      return release(err ?? broken);
    };
    return client;
  }

  /** Runs `work` in one transaction on a pooled client. */
  async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    const client = await this.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(this.on(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      broken = isConnectionError(err);
      await client.query('ROLLBACK').catch(() => undefined);
      throw asUnavailable(err, this.target);
    } finally {
      client.release(broken);
    }
  }

  /**
   * Applies pending migrations in one transaction; a transaction-scoped advisory lock makes
   * concurrent starts take turns (a session lock would stay on whichever server connection a
   * transaction-mode pooler lent, and never be released). They run on connections of their own
   * without the statement timeout: waiting for another process's migration, or building an index
   * on a large table, may take longer than any hot-path query.
   */
  async migrate(): Promise<string[]> {
    const migrations = new DataSource(this.companionDataSourceOptions(`nestjs-dbos-migrate:${this.schema}`, 'migrate'));
    await migrations.initialize();
    const runner = migrations.createQueryRunner();
    try {
      await runner.startTransaction();
      try {
        await runner.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey(this.schema)]);
        await runner.query(this.statements.text('CREATE SCHEMA IF NOT EXISTS {schema}'));
        // The executor runs them in the transaction already open on this runner (it starts none).
        const executor = new MigrationExecutor(migrations, runner);
        executor.transaction = 'all';
        const applied = await executor.executePendingMigrations();
        await runner.commitTransaction();
        for (const migration of applied) this.logger.log(`Applied system schema migration ${migration.name}`);
        return applied.map((m) => m.name);
      } catch (err) {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        throw err;
      }
    } finally {
      await runner.release();
      await migrations.destroy();
    }
  }

  private async assertSchemaReady(): Promise<void> {
    const rows = await this.query<{ ready: boolean; tracked: boolean }>(
      `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS ready, to_regclass($3) IS NOT NULL AS tracked`,
      [this.statements.text('{schema}.workflow_status'), this.statements.text('{schema}.operation_outputs'), this.statements.text('{schema}.migrations')],
    );
    if (!rows[0]?.ready) {
      throw new DbosConfigurationError(
        `The system schema "${this.schema}" has no workflow tables in ${this.target}. Start once with ` +
          `runMigrations: true, or apply them with "npx nestjs-dbos migrate".`,
      );
    }
    // The statements of this version use every column its migrations add: an older schema would fail them one by one.
    const applied = rows[0].tracked && (await this.query(`SELECT 1 FROM {schema}.migrations WHERE name = $1`, [NEWEST_MIGRATION])).length > 0;
    if (!applied) {
      throw new DbosConfigurationError(
        `The system schema "${this.schema}" in ${this.target} lacks migrations of this version of nestjs-dbos ` +
          `(${NEWEST_MIGRATION} is not applied). Apply them with "npx nestjs-dbos migrate" (or start one process with ` +
          `runMigrations: true) before starting processes of this version.`,
      );
    }
  }

  async close(): Promise<void> {
    await this.replica?.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

function assertSchemaName(schema: string): void {
  try {
    quoteSchemaName(schema);
  } catch (err) {
    throw new DbosConfigurationError((err as Error).message);
  }
}
