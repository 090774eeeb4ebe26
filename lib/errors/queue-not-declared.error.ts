import { DbosConfigurationError } from './configuration.error';

/**
 * A start or enqueue named a queue this process does not declare. A DbosConfigurationError (the
 * app is missing the queue) that DbosExceptionFilter answers with 400: the name came with the request.
 */
export class DbosQueueNotDeclaredError extends DbosConfigurationError {
  constructor(readonly queue: string) {
    super(`Queue "${queue}" is not declared in this app: add it to DbosModule.forRoot({ queues }) or register it at runtime.`);
  }
}
