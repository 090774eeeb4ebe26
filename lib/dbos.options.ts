import { hostname } from 'node:os';
import type { DataSource } from 'typeorm';
import { DEFAULT_POOL_SIZE, DEFAULT_SCHEMA, DEFAULT_STARTUP_RETRY_MS, DEFAULT_STATEMENT_TIMEOUT_MS } from './dbos.constants';
import { DbosConfigurationError } from './errors/configuration.error';
import type { ExecutorSettings } from './execution/executor.settings';
import type { DatabaseConnectionOptions, DbosModuleOptions, RetentionOptions } from './interfaces/dbos-module-options.interface';

/** Module options with every default filled in: the one place defaults live. */
export interface ResolvedDbosOptions extends Omit<DbosModuleOptions, 'database'> {
  schema: string;
  executorId: string;
  runMigrations: boolean;
  startWork: boolean;
  shutdownTimeoutMs: number;
  maxPayloadBytes: number;
  recovery: { maxRecoveryAttempts: number; executorLeaseMs: number };
  database: ResolvedDatabaseOptions;
  retention?: Required<RetentionOptions>;
}

/** `database` with its defaults; `url` and `dataSource` as given (at most one of them). */
export type ResolvedDatabaseOptions = DatabaseConnectionOptions &
  Required<Pick<DatabaseConnectionOptions, 'poolSize' | 'startupRetryMs' | 'statementTimeoutMs' | 'applicationName'>> & {
    url?: string;
    dataSource?: DataSource;
  };

export function resolveDbosOptions(options: DbosModuleOptions): ResolvedDbosOptions {
  if (options.database?.url !== undefined && options.database.dataSource !== undefined) {
    throw new DbosConfigurationError(
      'database.url and database.dataSource were both given; pass one: `database: { url }` for pools the module opens, ' +
        "or `database: { dataSource }` to share the app's TypeORM DataSource (its connection settings then apply).",
    );
  }
  const executorId = options.executorId ?? process.env.DBOS_EXECUTOR_ID ?? hostname();
  return {
    ...options,
    database: {
      ...options.database,
      poolSize: options.database?.poolSize ?? DEFAULT_POOL_SIZE,
      startupRetryMs: options.database?.startupRetryMs ?? DEFAULT_STARTUP_RETRY_MS,
      statementTimeoutMs: options.database?.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      applicationName: options.database?.applicationName ?? `nestjs-dbos:${executorId}`,
    },
    retention: options.retention && { intervalMs: 3_600_000, ...options.retention },
    schema: options.schema ?? DEFAULT_SCHEMA,
    executorId,
    runMigrations: options.runMigrations ?? true,
    startWork: process.env.DBOS_START_WORK === 'false' ? false : (options.startWork ?? true),
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 10_000,
    maxPayloadBytes: options.maxPayloadBytes ?? 16 * 1024 * 1024,
    recovery: {
      maxRecoveryAttempts: options.recovery?.maxRecoveryAttempts ?? 50,
      executorLeaseMs: options.recovery?.executorLeaseMs ?? 30_000,
    },
  };
}

/** The settings the executor's parts share; the application version is settled after discovery when not configured. */
export function executorSettingsOf(options: ResolvedDbosOptions): ExecutorSettings {
  return {
    executorId: options.executorId,
    applicationVersion: options.applicationVersion ?? 'unregistered',
    maxRecoveryAttempts: options.recovery.maxRecoveryAttempts,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
    maxPayloadBytes: options.maxPayloadBytes,
    executorLeaseMs: options.recovery.executorLeaseMs,
  };
}
