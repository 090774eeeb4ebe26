import { DbosDatabaseUnavailableError } from '../../lib';
import { isTransient } from '../../lib/execution/interruption.util';
import { DbosRunSuperseded } from '../../lib/execution/run-superseded.error';
import { DbosShutdownInterrupt } from '../../lib/execution/shutdown-interrupt.error';
import { asUnavailable, isConnectionError, isCredentialsRefusal, isReadOnlyRefusal } from '../../lib/system-database/connection-errors.util';

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('isTransient: errors never recorded as the outcome of a step or workflow', () => {
  it.each([
    ['a shutdown', new DbosShutdownInterrupt('wf-1')],
    ['a run that no longer owns its workflow', new DbosRunSuperseded('wf-1')],
    ["an outage of the module's own database", new DbosDatabaseUnavailableError('postgres://app:***@db/app', 'connect ECONNREFUSED')],
  ])('%s is transient', (_label, err) => {
    expect(isTransient(err)).toBe(true);
  });

  it.each([
    ['an ECONNREFUSED from an API a step calls', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6379')],
    ['a plain error', new Error('card declined')],
    ['a thrown string', 'oops'],
    ['undefined', undefined],
  ])('%s is the operation’s own failure', (_label, err) => {
    expect(isTransient(err)).toBe(false);
  });
});

describe('isConnectionError: the database could not be reached (not that a query was wrong)', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'])('a socket error %s', (code) => {
    expect(isConnectionError(withCode(code))).toBe(true);
  });

  it.each([
    ['57P01', 'admin_shutdown (pg_terminate_backend, server stop)'],
    ['57P02', 'crash_shutdown'],
    ['57P03', 'cannot_connect_now'],
    ['08006', 'connection_failure'],
    ['08P01', 'protocol_violation'],
    ['53300', 'too_many_connections'],
    ['57014', 'query_canceled (the statement timeout of the module’s connections)'],
    ['25006', 'read_only_sql_transaction (a standby, a primary being demoted)'],
    ['28P01', 'invalid_password (a password rotated under the app)'],
    ['28000', 'invalid_authorization_specification (a role made NOLOGIN, no pg_hba entry)'],
  ])('SQLSTATE %s: %s', (code) => {
    expect(isConnectionError(withCode(code))).toBe(true);
  });

  it.each([
    'Connection terminated unexpectedly',
    'terminating connection due to administrator command',
    'timeout exceeded when trying to connect',
    'the database system is starting up',
    'the database system is shutting down',
    'Client was closed and is not queryable',
    'Cannot use a pool after calling end on the pool',
    'Query read timeout',
  ])('the driver message "%s"', (message) => {
    expect(isConnectionError(new Error(message))).toBe(true);
  });

  it('a TypeORM error that wraps a connection error of the driver', () => {
    expect(isConnectionError(Object.assign(new Error('Query failed'), { driverError: withCode('ECONNRESET') }))).toBe(true);
  });

  it.each(['QueryRunnerAlreadyReleasedError', 'QueryRunnerProviderAlreadyReleasedError'])('TypeORM’s %s (its connection died)', (name) => {
    const err = new Error('released');
    err.name = name;
    expect(isConnectionError(err)).toBe(true);
  });

  it('a DbosDatabaseUnavailableError', () => {
    expect(isConnectionError(new DbosDatabaseUnavailableError('db', 'down'))).toBe(true);
  });

  it.each([
    ['a syntax error (42601)', withCode('42601', 'syntax error at or near "SELEC"')],
    ['a unique violation (23505)', withCode('23505', 'duplicate key value violates unique constraint')],
    ['a serialization failure (40001)', withCode('40001', 'could not serialize access')],
    ['a plain error', new Error('card declined')],
    ['a wrapper whose driver error is a query error', Object.assign(new Error('Query failed'), { driverError: withCode('42P01') })],
    ['a string', 'ECONNREFUSED'],
    ['null', null],
  ])('not %s', (_label, err) => {
    expect(isConnectionError(err)).toBe(false);
  });
});

describe('asUnavailable', () => {
  it('turns a connection error into DbosDatabaseUnavailableError naming the target and the cause', () => {
    const err = asUnavailable(withCode('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:5432'), 'postgres://app:***@10.0.0.5:5432/app');
    expect(err).toBeInstanceOf(DbosDatabaseUnavailableError);
    expect((err as Error).message).toBe('The workflow database at postgres://app:***@10.0.0.5:5432/app is unavailable: connect ECONNREFUSED 10.0.0.5:5432');
  });

  it('says a read-only refusal is a server taking no writes, also wrapped by TypeORM', () => {
    const wrapped = Object.assign(new Error('Query failed'), { driverError: withCode('25006', 'cannot execute INSERT in a read-only transaction') });
    expect(isReadOnlyRefusal(wrapped)).toBe(true);
    const err = asUnavailable(withCode('25006', 'cannot execute INSERT in a read-only transaction'), 'db');
    expect(err).toBeInstanceOf(DbosDatabaseUnavailableError);
    expect((err as Error).message).toMatch(/read-only transaction \(the server takes no writes: a standby, or a primary being switched over\)$/);
  });

  it('tells refused credentials (not retried at startup) from other refused logins', () => {
    expect([withCode('28P01'), withCode('28000')].map(isCredentialsRefusal)).toEqual([true, true]);
    expect([withCode('57P03'), withCode('53300'), withCode('25006')].map(isCredentialsRefusal)).toEqual([false, false, false]);
  });

  it('returns any other error as it is', () => {
    const syntax = withCode('42601', 'syntax error');
    expect(asUnavailable(syntax, 'db')).toBe(syntax);
  });

  it('returns a DbosDatabaseUnavailableError as it is (its first target kept)', () => {
    const unavailable = new DbosDatabaseUnavailableError('first', 'down');
    expect(asUnavailable(unavailable, 'second')).toBe(unavailable);
  });
});
