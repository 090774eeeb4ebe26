import { Catch, HttpStatus, Logger, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { DbosConflictError } from '../errors/conflict.error';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import { DbosError } from '../errors/dbos.error';
import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import { DbosPayloadTooLargeError } from '../errors/payload-too-large.error';
import { DbosQueueNotDeclaredError } from '../errors/queue-not-declared.error';
import { DbosSerializationError } from '../errors/serialization.error';
import { DbosTimeoutError } from '../errors/timeout.error';
import { DbosWorkflowCancelledError } from '../errors/workflow-cancelled.error';
import { MarkedWorkflowFailure, workflowFailureOf, type WorkflowFailureStatus } from '../errors/workflow-failure.mark';
import { DEFAULT_RETRY_AFTER_SECONDS } from './database-unavailable.filter';
import { errorBody, replyJson } from './http-reply.util';

/** The HTTP status of each error a caller can act on; the first class that matches wins. */
const STATUS_BY_ERROR: [abstract new (...args: never[]) => DbosError, HttpStatus][] = [
  [DbosNotFoundError, HttpStatus.NOT_FOUND],
  [DbosConflictError, HttpStatus.CONFLICT],
  [DbosWorkflowCancelledError, HttpStatus.CONFLICT],
  [DbosPayloadTooLargeError, HttpStatus.PAYLOAD_TOO_LARGE],
  [DbosInvalidArgumentError, HttpStatus.BAD_REQUEST],
  [DbosQueueNotDeclaredError, HttpStatus.BAD_REQUEST],
  [DbosSerializationError, HttpStatus.BAD_REQUEST],
  [DbosTimeoutError, HttpStatus.GATEWAY_TIMEOUT],
  [DbosDatabaseUnavailableError, HttpStatus.SERVICE_UNAVAILABLE],
];

/** The status of a workflow's recorded failure thrown by getResult(); MAX_RECOVERY_ATTEMPTS_EXCEEDED is left to Nest (500). */
const STATUS_BY_OUTCOME: Record<WorkflowFailureStatus, HttpStatus | undefined> = {
  ERROR: HttpStatus.UNPROCESSABLE_ENTITY,
  CANCELLED: HttpStatus.CONFLICT,
  MAX_RECOVERY_ATTEMPTS_EXCEEDED: undefined,
};

/**
 * The status DbosExceptionFilter answers `error` with; undefined when it leaves the error to Nest (a 500).
 * A workflow's failure thrown by `getResult()` goes by the workflow's status, whatever its class.
 */
export function httpStatusOfDbosError(error: unknown): HttpStatus | undefined {
  const failure = workflowFailureOf(error);
  if (failure) return STATUS_BY_OUTCOME[failure.status];
  return STATUS_BY_ERROR.find(([errorClass]) => error instanceof errorClass)?.[1];
}

/**
 * Answers the errors of this package a caller can act on with an HTTP status and Nest's usual body
 * `{ statusCode, error, message }` carrying the package's message: not found 404, conflict 409,
 * payload over maxPayloadBytes 413, invalid argument, undeclared queue or unserializable value 400,
 * timeout 504, database unavailable 503 with Retry-After. A workflow's failure read through
 * `getResult()` is 422 (ended in ERROR) or 409 (CANCELLED), with the recorded error's name and message
 * and the workflow id. Any other DbosError (nondeterminism, max recovery attempts, configuration) is
 * a server-side fault and goes to Nest's default handling (500).
 *
 * `app.useGlobalFilters(new DbosExceptionFilter(app.get(HttpAdapterHost)))`, or
 * `{ provide: APP_FILTER, useClass: DbosExceptionFilter }`. For HTTP routes.
 */
@Catch(DbosError, MarkedWorkflowFailure)
export class DbosExceptionFilter implements ExceptionFilter<Error> {
  /** Seconds a client should wait before retrying after a 503. */
  retryAfterSeconds = DEFAULT_RETRY_AFTER_SECONDS;

  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(exception: Error, host: ArgumentsHost): void {
    const status = httpStatusOfDbosError(exception);
    if (status === undefined) return this.unmapped(exception, host);
    const headers: Record<string, string> = status === HttpStatus.SERVICE_UNAVAILABLE ? { 'Retry-After': String(this.retryAfterSeconds) } : {};
    const failure = workflowFailureOf(exception);
    const body = failure
      ? { ...errorBody(status, exception.message), workflowId: failure.workflowId, workflowStatus: failure.status, errorName: exception.name }
      : errorBody(status, exception.message);
    replyJson(host, this.adapterHost, body, headers);
  }

  /** What Nest does with an error no filter handles: logged, and a 500 that does not show its message. */
  private unmapped(exception: Error, host: ArgumentsHost): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter) return new BaseExceptionFilter(adapter).catch(exception, host);
    new Logger('ExceptionsHandler').error(exception.message, exception.stack);
    host.switchToHttp().getResponse().status(HttpStatus.INTERNAL_SERVER_ERROR).json({
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      message: 'Internal server error',
    });
  }
}
