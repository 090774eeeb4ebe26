import { redactUrl } from '../common/database-target.util';
import type { WorkflowClient } from '../client/workflow.client';
import { DbosConfigurationError } from '../errors/configuration.error';
import { createPayloadCodec, type PayloadCodec } from '../payloads/payload.codec';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import { quoteSchemaName } from '../system-database/schema-name.util';
import type { SystemDatabase } from '../system-database/system.database';
import { CliError, ExitCode, UsageError, type ConnectionSettings, type OptionValue } from './command.interface';

export const DEFAULT_SCHEMA = 'dbos';

/** Postgres itself gives up on an unroutable host only after minutes; an operator should not wait that long. */
const CONNECT_TIMEOUT_MS = 15_000;

/** Pool size of the CLI: one command, one query at a time. */
const POOL_SIZE = 2;

export function resolveConnection(options: Readonly<Record<string, OptionValue>>, env: NodeJS.ProcessEnv): ConnectionSettings {
  const url = typeof options['database-url'] === 'string' ? options['database-url'] : env.DATABASE_URL;
  if (!url) throw new UsageError('No database given: pass --database-url URL or set DATABASE_URL.');
  if (!isPostgresUrl(url)) throw new UsageError('The database URL must be a postgres:// or postgresql:// URL.');
  const schema = typeof options.schema === 'string' ? options.schema : DEFAULT_SCHEMA;
  try {
    quoteSchemaName(schema);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const pooler = typeof options.pooler === 'string' ? options.pooler : env.DATABASE_POOLER || undefined;
  if (pooler !== undefined && pooler !== 'transaction' && pooler !== 'session')
    throw new UsageError(`--pooler must be transaction or session, not "${pooler}".`);
  const listenUrl = typeof options['listen-url'] === 'string' ? options['listen-url'] : env.DATABASE_LISTEN_URL || undefined;
  if (listenUrl !== undefined && !isPostgresUrl(listenUrl)) throw new UsageError('The listen URL must be a postgres:// or postgresql:// URL.');
  const keys = typeof options['encryption-key'] === 'string' ? options['encryption-key'] : env.DBOS_ENCRYPTION_KEY || undefined;
  const encryptionKeys = keys
    ?.split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  const readUrl = typeof options['read-url'] === 'string' ? options['read-url'] : env.DATABASE_READ_URL || undefined;
  if (readUrl !== undefined && !isPostgresUrl(readUrl)) throw new UsageError('The read URL must be a postgres:// or postgresql:// URL.');
  return { url, schema, pooler, listenUrl, readUrl, encryptionKeys };
}

/** How the CLI reads payloads: with the given keys if any; what it cannot decrypt is shown as `[encrypted]`. */
export function cliPayloadCodec(settings: ConnectionSettings): PayloadCodec {
  const [key, ...previousKeys] = settings.encryptionKeys ?? [];
  try {
    return createPayloadCodec({ encryption: key === undefined ? undefined : { key, previousKeys }, unreadable: 'placeholder' });
  } catch (err) {
    throw new UsageError(`--encryption-key: ${(err as Error).message}`);
  }
}

function isPostgresUrl(url: string): boolean {
  try {
    return ['postgres:', 'postgresql:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

// The client and the system database are loaded on first connection: help and usage errors need neither TypeORM nor pg.

export async function connectClient(settings: ConnectionSettings): Promise<WorkflowClient> {
  const { WorkflowClient } = await import('../client/workflow.client');
  try {
    return await withConnectTimeout(
      settings,
      WorkflowClient.connect({
        database: {
          url: settings.url,
          poolSize: POOL_SIZE,
          startupRetryMs: 0,
          pooler: settings.pooler,
          listenUrl: settings.listenUrl,
          readUrl: settings.readUrl,
          readPoolSize: 1,
        },
        schema: settings.schema,
        payloadCodec: cliPayloadCodec(settings),
      }),
    );
  } catch (err) {
    throw poolerMissing(err) ?? (err instanceof DbosConfigurationError ? schemaMissing(settings, err) : err);
  }
}

/** The system database; with `runMigrations: false`, a missing schema is a DbosConfigurationError. */
export async function openSystemDatabase(settings: ConnectionSettings, runMigrations: boolean): Promise<SystemDatabase> {
  const { SystemDatabase } = await import('../system-database/system.database');
  const opening = withConnectTimeout(
    settings,
    SystemDatabase.open({
      url: settings.url,
      schema: settings.schema,
      poolSize: POOL_SIZE,
      runMigrations,
      startupRetryMs: 0,
      applicationName: 'nestjs-dbos:cli',
      pooler: settings.pooler,
      listenUrl: settings.listenUrl,
      payloads: cliPayloadCodec(settings),
    }),
  );
  return opening.catch((err: unknown) => {
    throw poolerMissing(err) ?? err;
  });
}

/** The database answered as a connection pooler would (see SystemDatabase.open): the CLI's options for it. */
function poolerMissing(err: unknown): CliError | undefined {
  if (!(err instanceof DbosConfigurationError) || !err.message.includes('database.pooler')) return undefined;
  return new CliError(err.message, ExitCode.Unavailable, "Pass --pooler transaction (or session, after the pooler's pool_mode), or set DATABASE_POOLER.");
}

function schemaMissing(settings: ConnectionSettings, cause: DbosConfigurationError): CliError {
  if (cause.message.startsWith('database.readUrl')) return new CliError(cause.message, ExitCode.Unavailable, 'Check --read-url (or DATABASE_READ_URL).');
  return new CliError(cause.message, ExitCode.Unavailable, `Create the system schema with: nestjs-dbos migrate --schema ${settings.schema}`);
}

async function withConnectTimeout<T>(settings: ConnectionSettings, connecting: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DbosDatabaseUnavailableError(redactUrl(settings.url), `no answer within ${CONNECT_TIMEOUT_MS / 1_000} s`)),
      CONNECT_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([connecting, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Masks the password of any URL in a message. The library already redacts the URLs it prints;
 * this also covers messages of other origins (a driver, an argument echoed back).
 */
export function hideSecrets(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}
