import { Catch, HttpStatus, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import { errorBody, replyJson } from './http-reply.util';

/** Seconds a client is asked to wait (Retry-After) while the workflow database is unavailable. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/**
 * Maps DbosDatabaseUnavailableError to HTTP 503 with a Retry-After header, for apps that want
 * clients to retry while the workflow database is down:
 * `app.useGlobalFilters(new DbosDatabaseUnavailableFilter(app.get(HttpAdapterHost)))` or `APP_FILTER`.
 * DbosExceptionFilter does the same, and maps the other errors of the package too.
 */
@Catch(DbosDatabaseUnavailableError)
export class DbosDatabaseUnavailableFilter implements ExceptionFilter<DbosDatabaseUnavailableError> {
  /** Seconds a client should wait before retrying. */
  retryAfterSeconds = DEFAULT_RETRY_AFTER_SECONDS;

  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(exception: DbosDatabaseUnavailableError, host: ArgumentsHost): void {
    replyJson(host, this.adapterHost, errorBody(HttpStatus.SERVICE_UNAVAILABLE, exception.message), {
      'Retry-After': String(this.retryAfterSeconds),
    });
  }
}
