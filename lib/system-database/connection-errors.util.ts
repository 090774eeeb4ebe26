import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';

/**
 * read_only_sql_transaction: a write reached a server that takes none, a standby (HA: a primary
 * being demoted, a proxy still routing to the old primary, a URL naming a replica). The module
 * never makes its own statements read-only, so for them it means the database is unavailable for
 * now (see TransactionRunner for the one read-only transaction it opens on purpose).
 */
const READ_ONLY_SERVER = '25006';

/** invalid_password (28P01: a password rotated under the app), invalid_authorization_specification (28000: no such role, no pg_hba entry). */
export const CREDENTIALS_REFUSED = new Set(['28P01', '28000']);

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  '57P01', // admin_shutdown (pg_terminate_backend, server stop)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up / shutting down)
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '08P01',
  '53300', // too_many_connections
  ...CREDENTIALS_REFUSED, // a login refused (a password rotated under the app, no such role, no pg_hba entry); see LoginGate
  '57014', // query_canceled: the statement timeout of the module's own connections (a server that does not answer in time)
  READ_ONLY_SERVER,
]);

const CONNECTION_MESSAGES =
  /Connection terminated|terminating connection|Connection ended|connection error|ECONNREFUSED|ECONNRESET|timeout exceeded when trying to connect|the database system is (starting up|shutting down|in recovery mode)|Client was closed|Cannot use a pool after calling end|Query read timeout|Connection is not queryable/i;

const RELEASED_RUNNER_ERRORS = new Set(['QueryRunnerProviderAlreadyReleasedError', 'QueryRunnerAlreadyReleasedError']);

/** True when `err` says the database could not be reached or takes no writes now (not that a query was wrong). */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof DbosDatabaseUnavailableError) return true;
  if (!err || typeof err !== 'object') return false;
  const { code, message, driverError } = err as { code?: unknown; message?: unknown; driverError?: unknown };
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return true;
  // TypeORM releases a query runner whose connection died; its next query (or COMMIT) throws one of these.
  if (RELEASED_RUNNER_ERRORS.has(String((err as { name?: unknown }).name))) return true;
  return driverError !== undefined && driverError !== err && isConnectionError(driverError);
}

/**
 * True when the server refused the login itself (a wrong password, no such role): at startup that
 * is a configuration to fix, reported at once; under a running app (a rotated password) it is an outage.
 */
export function isCredentialsRefusal(err: unknown): boolean {
  return CREDENTIALS_REFUSED.has(String((err as { code?: unknown } | null)?.code));
}

/** True when `err` (or the driver error it wraps) is a write refused by a read-only server or transaction (SQLSTATE 25006). */
export function isReadOnlyRefusal(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const { code, driverError, cause } = err as { code?: unknown; driverError?: unknown; cause?: unknown };
  if (code === READ_ONLY_SERVER) return true;
  return [driverError, cause].some((inner) => inner !== undefined && inner !== err && isReadOnlyRefusal(inner));
}

/** Connection errors become DbosDatabaseUnavailableError (naming the target); anything else is rethrown as it is. */
export function asUnavailable(err: unknown, target: string): unknown {
  if (err instanceof DbosDatabaseUnavailableError || !isConnectionError(err)) return err;
  const message = (err as Error).message;
  return new DbosDatabaseUnavailableError(
    target,
    isReadOnlyRefusal(err) ? `${message} (the server takes no writes: a standby, or a primary being switched over)` : message,
  );
}
