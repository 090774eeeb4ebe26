import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency, Type } from '@nestjs/common';
import type { DataSource, DataSourceOptions } from 'typeorm';
import type { TransactionAdapter } from './transaction-adapter.interface';
import type { PayloadEncryptionOptions, PayloadSerializer } from './payload-options.interface';

/**
 * How the module reaches Postgres through a connection pooler (PgBouncer, the pooled endpoint of a
 * hosted Postgres). See docs/poolers.md.
 */
export interface PoolerOptions {
  /**
   * The pool mode of a pooler between the module and Postgres. Unset: a direct connection.
   * - `'session'`: no startup parameters (a pooler refuses `statement_timeout` there: put the
   *   timeouts on the role instead, `ALTER ROLE ... SET statement_timeout = '30s'`); the rest as direct.
   * - `'transaction'`: also every statement unnamed (a prepared statement lives on one server
   *   connection), and no LISTEN on `url`: notifications come through `listenUrl`, or waiters poll
   *   every `pollIntervalMs`.
   */
  pooler?: 'session' | 'transaction';
  /**
   * A direct connection URL (not through a transaction pooler) for the one LISTEN connection of the
   * process, which needs a session of its own. Default: `url`, unless `pooler` is `'transaction'`.
   */
  listenUrl?: string;
  /**
   * Without a LISTEN connection (`pooler: 'transaction'` and no `listenUrl`), how often waiters
   * (getResult, recv, getEvent), the queue dispatcher and the check for cancels made elsewhere look
   * at the database. Default 500 ms; while a LISTEN connection is lost, 1 000 ms.
   */
  pollIntervalMs?: number;
}

/**
 * A hot-standby replica of the system database for management reads: `list()`, `listPage()`,
 * `listSteps()`, `queueStats()`, `getStatus(id, { fromReplica: true })` and the dashboard's pages.
 * Everything that decides (claims, recovery, dedup, `getResult()`, cancel/resume/fork, ...) stays
 * on `url`. See docs/replicas.md.
 */
export interface ReadReplicaOptions {
  /**
   * Connection URL of a hot standby of the system database (streaming replication). Its pool is
   * read-only (`default_transaction_read_only`), bounded by `readPoolSize`, and never migrates.
   * Checked at startup: no system schema, or an older one than `url`'s, or the standby of another
   * server is a DbosConfigurationError; a server not in recovery (the primary itself) is accepted
   * with a warning. Default: none, every read on `url`.
   */
  readUrl?: string;
  /** Connections in the replica's pool. Default 2. */
  readPoolSize?: number;
  /**
   * When the replica does not answer: `'primary'` (default) runs the management reads on `url`,
   * logging a warning when the replica goes away and a line when it answers again; `'fail'` rejects
   * them with DbosDatabaseUnavailableError (the primary is never loaded with them).
   */
  readFallback?: 'primary' | 'fail';
}

/** The system database, by URL: the module opens its own pools. */
export interface DatabaseUrlOptions extends DatabaseConnectionOptions {
  /** Postgres connection URL of the system database (undefined: the embedded Postgres, development only). */
  url?: string;
  dataSource?: never;
}

/** The system database is the app's own TypeORM DataSource. */
export interface DatabaseDataSourceOptions extends DatabaseConnectionOptions {
  /**
   * An existing TypeORM DataSource of the app (postgres). `@Transaction` methods run on it and the
   * system tables live in the same database, so app writes and checkpoints commit together.
   * The module never destroys a DataSource it did not create.
   */
  dataSource: DataSource;
  url?: never;
}

/** `{ url }` or `{ dataSource }`, never both (refused at startup with DbosConfigurationError). */
export type DatabaseOptions = DatabaseUrlOptions | DatabaseDataSourceOptions;

/** What both forms of `database` share. */
export interface DatabaseConnectionOptions extends PoolerOptions, ReadReplicaOptions {
  /**
   * Entities the `@Transaction` methods use (`dbos.entityManager.getRepository(Stock)`) when the
   * module opens the database itself (`url`, or the embedded one). With `dataSource`, that
   * DataSource's own entities apply and this is ignored; so it is with `transactions`.
   */
  entities?: DataSourceOptions['entities'];
  /** Connections in the module's own pool. Default 10. */
  poolSize?: number;
  /** At startup, keep retrying an unreachable database this long before failing (an attempt begun within it that hangs is tried once more when it fails). Default 30 000 ms. */
  startupRetryMs?: number;
  /**
   * Longest a statement of the module's own connections may run (server-side statement_timeout;
   * the client gives up shortly after, so a query on a half-open socket fails instead of hanging).
   * Default 30 000 ms; also on the @Transaction pool the module opens from `url`. Migrations run without it.
   */
  statementTimeoutMs?: number;
  /**
   * `application_name` of the module's connections, so `pg_stat_activity` shows whose they are.
   * Each role gets a suffix: `:system` (the module's pool), `:transactions` (the @Transaction pool
   * the module opens), `:listen` (LISTEN), `:heartbeat`, `:migrate`. Default `nestjs-dbos:<executorId>`.
   */
  applicationName?: string;
}

export interface EmbeddedDatabaseOptions {
  /** Data directory. Default `.dbos/pgdata` under the working directory. */
  dir?: string;
  /** Port. Default 54329. */
  port?: number;
}

export interface QueueOptions {
  name: string;
  /** At most this many workflows of the queue PENDING at once, across every process (per key when partitioned). */
  concurrency?: number;
  /** At most this many running in this process. */
  workerConcurrency?: number;
  /** At most `limit` starts per `periodMs`, across every process (per key when partitioned). */
  rateLimit?: { limit: number; periodMs: number };
  /** Order by `priority` (lower first), FIFO within a priority. Without it, plain FIFO. */
  priorityEnabled?: boolean;
  /** Every enqueue names a `partitionKey`; the limits apply per key (per customer, per tenant). */
  partitioned?: boolean;
  /** Per-key concurrency of a partitioned queue; defaults to `concurrency`. */
  partitionConcurrency?: number;
}

export interface RetentionOptions {
  /** Finished workflows created longer ago than this are deleted, with everything they own. */
  olderThanMs: number;
  /** How often to delete. Default one hour. */
  intervalMs?: number;
}

export interface RecoveryOptions {
  /** Recoveries of one workflow before it is marked MAX_RECOVERY_ATTEMPTS_EXCEEDED. Default 50. */
  maxRecoveryAttempts?: number;
  /** A silent executor's workflows are adopted after this. Default 30 000 ms. */
  executorLeaseMs?: number;
}

export interface DbosModuleOptions {
  /** Omitted: an embedded Postgres under `.dbos/` (development only, logged loudly). */
  database?: DatabaseOptions;
  /**
   * Where `@Transaction` methods run: the app's own ORM, e.g. `knexTransactions(knex)`,
   * `prismaTransactions(prisma)`, `drizzleTransactions(db)`, `mikroOrmTransactions(orm)`. It must
   * be connected to the system database (checked at startup). Default: TypeORM, on
   * `database.dataSource` or on a pool the module opens from `database.url` (`database.entities`).
   */
  transactions?: TransactionAdapter;
  embedded?: EmbeddedDatabaseOptions;
  /** Schema of the system tables. Default `dbos`. */
  schema?: string;
  /** Default: a hash of the registered workflow and step code. */
  applicationVersion?: string;
  /** Default: `DBOS_EXECUTOR_ID`, else the host name. Must be stable across restarts of one instance. */
  executorId?: string;
  queues?: QueueOptions[];
  recovery?: RecoveryOptions;
  /** Apply the system schema migrations at startup. Default true. */
  runMigrations?: boolean;
  /** How long shutdown waits for running steps. Default 10 000 ms. */
  shutdownTimeoutMs?: number;
  /** Largest serialized input, result, step output, message or event. Default 16 MiB. */
  maxPayloadBytes?: number;
  /** Delete finished workflows automatically after this long. Default: keep everything. */
  retention?: RetentionOptions;
  /**
   * False: the module registers the workflows and serves clients and replay checks, but runs no
   * work (no recovery, queue dispatch, cron, heartbeats, retention). Default true; the environment
   * variable `DBOS_START_WORK=false` (set by `nestjs-dbos replay`) overrides it.
   */
  startWork?: boolean;
  /** Replaces the built-in encoding of stored values (`serialize`/`deserialize`, either may be async). See docs/payloads.md. */
  serializer?: PayloadSerializer;
  /** AES-256-GCM encryption of every stored payload: `{ key, previousKeys? }`. See docs/payloads.md. */
  encryption?: PayloadEncryptionOptions;
}

export interface DbosOptionsFactory {
  createDbosOptions(): Promise<DbosModuleOptions> | DbosModuleOptions;
}

export interface DbosModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory?: (...args: any[]) => Promise<DbosModuleOptions> | DbosModuleOptions; // eslint-disable-line @typescript-eslint/no-explicit-any
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useClass?: Type<DbosOptionsFactory>;
  useExisting?: Type<DbosOptionsFactory>;
}
