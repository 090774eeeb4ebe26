import { Catch, HttpStatus, Logger, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { DbosConflictError } from '../errors/conflict.error';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import { DbosError } from '../errors/dbos.error';
import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import { DbosPayloadTooLargeError } from '../errors/payload-too-large.error';
import { DbosSerializationError } from '../errors/serialization.error';
import { DbosTimeoutError } from '../errors/timeout.error';
import { DEFAULT_RETRY_AFTER_SECONDS } from './database-unavailable.filter';
import { errorBody, replyJson } from './http-reply.util';

/** The HTTP status of each error a caller can act on; the first class that matches wins. */
const STATUS_BY_ERROR: [abstract new (...args: never[]) => DbosError, HttpStatus][] = [
  [DbosNotFoundError, HttpStatus.NOT_FOUND],
  [DbosConflictError, HttpStatus.CONFLICT],
  [DbosPayloadTooLargeError, HttpStatus.PAYLOAD_TOO_LARGE],
  [DbosInvalidArgumentError, HttpStatus.BAD_REQUEST],
  [DbosSerializationError, HttpStatus.BAD_REQUEST],
  [DbosTimeoutError, HttpStatus.GATEWAY_TIMEOUT],
  [DbosDatabaseUnavailableError, HttpStatus.SERVICE_UNAVAILABLE],
];

/** The status DbosExceptionFilter answers `error` with; undefined when it leaves the error to Nest (a 500). */
export function httpStatusOfDbosError(error: unknown): HttpStatus | undefined {
  return STATUS_BY_ERROR.find(([errorClass]) => error instanceof errorClass)?.[1];
}

/**
 * Answers the errors of this package a caller can act on with an HTTP status and Nest's usual body
 * `{ statusCode, error, message }` carrying the package's message: not found 404, conflict 409,
 * payload over maxPayloadBytes 413, invalid argument or unserializable value 400, timeout 504,
 * database unavailable 503 with Retry-After. Any other DbosError (cancelled, nondeterminism, max
 * recovery attempts, configuration) is a server-side fault and goes to Nest's default handling (500).
 *
 * `app.useGlobalFilters(new DbosExceptionFilter(app.get(HttpAdapterHost)))`, or
 * `{ provide: APP_FILTER, useClass: DbosExceptionFilter }`. For HTTP routes.
 */
@Catch(DbosError)
export class DbosExceptionFilter implements ExceptionFilter<DbosError> {
  /** Seconds a client should wait before retrying after a 503. */
  retryAfterSeconds = DEFAULT_RETRY_AFTER_SECONDS;

  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(exception: DbosError, host: ArgumentsHost): void {
    const status = httpStatusOfDbosError(exception);
    if (status === undefined) return this.unmapped(exception, host);
    const headers: Record<string, string> = status === HttpStatus.SERVICE_UNAVAILABLE ? { 'Retry-After': String(this.retryAfterSeconds) } : {};
    replyJson(host, this.adapterHost, errorBody(status, exception.message), headers);
  }

  /** What Nest does with an error no filter handles: logged, and a 500 that does not show its message. */
  private unmapped(exception: DbosError, host: ArgumentsHost): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter) return new BaseExceptionFilter(adapter).catch(exception, host);
    new Logger('ExceptionsHandler').error(exception.message, exception.stack);
    host.switchToHttp().getResponse().status(HttpStatus.INTERNAL_SERVER_ERROR).json({
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      message: 'Internal server error',
    });
  }
}
