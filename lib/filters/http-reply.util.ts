import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { STATUS_CODES } from 'node:http';

/** Nest's usual error body. */
export interface HttpErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

export function errorBody(statusCode: number, message: string): HttpErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

/** Answers with `body` through the app's HTTP adapter (Express or Fastify), else as Express would. */
export function replyJson(host: ArgumentsHost, adapterHost: HttpAdapterHost | undefined, body: HttpErrorBody, headers: Record<string, string> = {}): void {
  const response = host.switchToHttp().getResponse();
  const adapter = adapterHost?.httpAdapter;
  if (adapter) {
    for (const [name, value] of Object.entries(headers)) adapter.setHeader(response, name, value);
    adapter.reply(response, body, body.statusCode);
    return;
  }
  for (const [name, value] of Object.entries(headers)) response.setHeader?.(name, value);
  response.status(body.statusCode).json(body);
}
