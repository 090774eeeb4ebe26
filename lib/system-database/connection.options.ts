import type { ClientConfig } from 'pg';
import type { DataSource, DataSourceOptions } from 'typeorm';
import { SYSTEM_MIGRATIONS } from '../../migrations';
import { DEFAULT_POOL_SIZE, DEFAULT_STATEMENT_TIMEOUT_MS } from '../dbos.constants';
import { DbosConfigurationError } from '../errors/configuration.error';
import type { PoolerOptions, ReadReplicaOptions } from '../interfaces/dbos-module-options.interface';
import type { PayloadCodec } from '../payloads/payload.codec';
import { GuardedClient } from './guarded.client';

export interface SystemDatabaseConfig extends PoolerOptions, ReadReplicaOptions {
  /** Connection URL; or `dataSource`, whose connection options are reused. */
  url?: string;
  dataSource?: DataSource;
  schema: string;
  poolSize?: number;
  runMigrations: boolean;
  /** Keep retrying an unreachable database at startup for this long. Default DEFAULT_STARTUP_RETRY_MS (30 s); 0 fails at once. */
  startupRetryMs?: number;
  /**
   * Longest a statement of the module may take (server-side statement_timeout; the client gives up
   * shortly after, so a query on a half-open socket fails instead of hanging). Default 30 000 ms.
   * Behind a pooler (`pooler`) only the client's deadline is set: the server side is the role's.
   */
  statementTimeoutMs?: number;
  /**
   * `application_name` of the connections, with a suffix per role (`:system` for this pool,
   * `:migrate`, `:replica` for the pool on `readUrl`, and what callers ask for: `:listen`, `:heartbeat`, `:transactions`). Default: the
   * driver's (or the given DataSource's).
   */
  applicationName?: string;
  /** Where migrations and startup retries are reported (a Nest Logger fits). Default: warnings to the console. */
  logger?: SystemLogger;
  /** How payload columns are stored (serializer, encryption): applied by the repositories. Default: as the value codec wrote them. */
  payloads?: PayloadCodec;
}

export interface SystemLogger {
  log(message: string): void;
  warn(message: string): void;
}

/** The postgres member of DataSourceOptions (named PostgresConnectionOptions in TypeORM 0.3, PostgresDataSourceOptions in 1.x). */
type PostgresConnectionOptions = Extract<DataSourceOptions, { type: 'postgres' }>;

/** The pooler and replica settings of a `database` option, as SystemDatabase.open takes them (the module and `WorkflowClient.connect` alike). */
export function routingOf(database: PoolerOptions & ReadReplicaOptions): PoolerOptions & ReadReplicaOptions {
  const { pooler, listenUrl, pollIntervalMs, readUrl, readPoolSize, readFallback } = database;
  return { pooler, listenUrl, pollIntervalMs, readUrl, readPoolSize, readFallback };
}

export function applicationNameOf(config: SystemDatabaseConfig, role: string): string | undefined {
  return config.applicationName === undefined ? undefined : `${config.applicationName}:${role}`;
}

export function systemDataSourceOptions(config: SystemDatabaseConfig, withTimeouts: boolean, role: string): DataSourceOptions {
  const base = connectionOptionsOf(config);
  const applicationName = applicationNameOf(config, role) ?? base.applicationName;
  const statementTimeoutMs = config.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  // Keepalive notices a dead peer on an idle connection; the timeouts bound a connect, a query on a
  // live-looking socket, and a session left idle inside a transaction (it would hold its locks,
  // e.g. a queue's claim lock, for as long as a cut-off client stays silent). A pooler refuses the
  // server-side ones as startup parameters ("unsupported startup parameter"): there they are the
  // role's settings (docs/poolers.md), and only the client's deadline is set here.
  const always = { Client: GuardedClient, keepAlive: true, keepAliveInitialDelayMillis: 10_000, connectionTimeoutMillis: Math.min(statementTimeoutMs, 10_000) };
  const serverSide = config.pooler ? {} : { statement_timeout: statementTimeoutMs, idle_in_transaction_session_timeout: statementTimeoutMs };
  const timeouts = withTimeouts ? { ...always, ...serverSide, query_timeout: statementTimeoutMs + 2_000 } : always;
  return {
    ...base,
    applicationName,
    type: 'postgres',
    name: `nestjs-dbos:${config.schema}`,
    schema: config.schema,
    migrations: SYSTEM_MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsRun: false,
    synchronize: false,
    logging: false,
    extra: { ...(base.extra as object | undefined), ...timeouts, max: config.poolSize ?? DEFAULT_POOL_SIZE },
  } as DataSourceOptions;
}

function connectionOptionsOf(config: SystemDatabaseConfig): Partial<PostgresConnectionOptions> {
  if (config.url) return { url: config.url };
  const options = config.dataSource?.options;
  if (!options || options.type !== 'postgres') {
    throw new DbosConfigurationError('database.dataSource must be a TypeORM DataSource of type "postgres" (the system tables need Postgres).');
  }
  const { url, host, port, username, password, database, ssl, extra, connectTimeoutMS, applicationName } = options;
  return { url, host, port, username, password, database, ssl, extra, connectTimeoutMS, applicationName };
}

/**
 * The connection of the LISTEN connection: `listenUrl` when given (a direct one, past a
 * transaction pooler), else the pool's; none behind a transaction pooler without `listenUrl`
 * (LISTEN needs a session: waiters poll instead).
 */
export function listenConnectionOf(config: SystemDatabaseConfig, poolConnection: ClientConfig): ClientConfig | undefined {
  if (config.listenUrl) {
    // The pool's settings (keepalive, application_name, ssl) with the address and login of listenUrl.
    const settings: ClientConfig = { ...poolConnection };
    for (const key of ['host', 'port', 'user', 'password', 'database', 'connectionString'] as const) delete settings[key];
    return { ...settings, connectionString: config.listenUrl };
  }
  return config.pooler === 'transaction' ? undefined : poolConnection;
}

/** A pooler's answer to the module's startup parameters (statement_timeout), as a configuration error saying what to set. */
export function poolerRefusal(err: unknown, target: string): DbosConfigurationError | undefined {
  const message = (err as { message?: unknown } | null)?.message;
  if (typeof message !== 'string' || !/unsupported startup parameter/i.test(message)) return undefined;
  return new DbosConfigurationError(
    `${target} refused a startup parameter (${message}): it is a connection pooler such as PgBouncer. ` +
      `Set database.pooler: 'transaction' (or 'session', after its pool_mode) and put the timeouts on the role ` +
      `(ALTER ROLE ... SET statement_timeout = '30s'); see docs/poolers.md.`,
  );
}

/** A named statement missing (or already there) on its connection: a transaction-mode pooler moved the session, as a configuration error. */
export function namedStatementLost(err: unknown): DbosConfigurationError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== '26000' && code !== '42P05') return undefined;
  return new DbosConfigurationError(
    `A prepared statement of the module was ${code === '26000' ? 'missing on' : 'already on'} its connection (${(err as Error).message}): ` +
      `the database is reached through a transaction-mode pooler (PgBouncer pool_mode = transaction). ` +
      `Set database.pooler: 'transaction' (see docs/poolers.md).`,
  );
}
