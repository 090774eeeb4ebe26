import { Catch, HttpStatus, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';

/**
 * Maps DbosDatabaseUnavailableError to HTTP 503 with a Retry-After header, for apps that want
 * clients to retry while the workflow database is down:
 * `app.useGlobalFilters(new DbosDatabaseUnavailableFilter(app.get(HttpAdapterHost)))` or `APP_FILTER`.
 */
@Catch(DbosDatabaseUnavailableError)
export class DbosDatabaseUnavailableFilter implements ExceptionFilter<DbosDatabaseUnavailableError> {
  /** Seconds a client should wait before retrying. */
  retryAfterSeconds = 5;

  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(exception: DbosDatabaseUnavailableError, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse();
    const body = { statusCode: HttpStatus.SERVICE_UNAVAILABLE, error: 'Service Unavailable', message: exception.message };
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter) {
      adapter.setHeader(response, 'Retry-After', String(this.retryAfterSeconds));
      adapter.reply(response, body, HttpStatus.SERVICE_UNAVAILABLE);
      return;
    }
    response.setHeader?.('Retry-After', String(this.retryAfterSeconds));
    response.status(HttpStatus.SERVICE_UNAVAILABLE).json(body);
  }
}
