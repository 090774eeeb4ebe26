import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import { UseInterceptors, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { catchError, from, Observable, throwError } from 'rxjs';
import { runnerOf } from './durable-handler.bindings';
import type { DurableHandlerOptions } from './durable-handler.options';

export const DURABLE_HANDLER_METADATA = 'dbos:durable_handler';

export interface DurableHandlerMetadata {
  options: DurableHandlerOptions;
  /** The method as written: the workflow body. */
  method: (...args: unknown[]) => Promise<unknown>;
}

/** A message the handler leaves to the transport to deliver again (Kafka: not committing its offset). */
class RedeliveryRequest {
  constructor(readonly error: unknown) {}
}

/**
 * The transport's context of the message being handled. Nest passes a method only the arguments
 * its parameter decorators ask for (often just @Payload), so the interceptor hands it over.
 */
const messageContext = new AsyncLocalStorage<unknown>();

/** Messages a pipe rejected (a ValidationPipe on @Payload) never reach the method: dead-lettered here. */
class RejectedMessageInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const rpc = context.switchToRpc();
    // next.handle() binds the async scope the method runs in: call it inside the context's run.
    const handled = () =>
      next
        .handle()
        .pipe(
          catchError((error: unknown) =>
            error instanceof RedeliveryRequest
              ? throwError(() => error.error)
              : from(runnerOf(context.getHandler()).then((runner) => runner.reject(rpc.getData(), rpc.getContext(), error))),
          ),
        );
    return new Observable((subscriber) => messageContext.run(rpc.getContext(), () => handled().subscribe(subscriber)));
  }
}

/**
 * Makes an `@EventPattern` handler a durable workflow: each message starts it once, with the id
 * `<workflowName>:<key>`, and is acknowledged only once that start is durable.
 *
 * Unlike the other decorators this one replaces the method: Nest's microservice router takes the
 * method when the microservice connects, which in a hybrid app is before the module initializes.
 * The replacement keeps the method's metadata (routes, pipes, parameter decorators).
 */
export function DurableHandler<T = unknown>(options: DurableHandlerOptions<T> = {}) {
  return (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor => {
    const method = descriptor.value as unknown as DurableHandlerMetadata['method'];
    const handler = async function durableHandler(data: unknown, context: unknown): Promise<void> {
      const runner = await runnerOf(handler);
      try {
        await runner.handle(data, messageContext.getStore() ?? context);
      } catch (error) {
        throw new RedeliveryRequest(error);
      }
    };
    Object.defineProperty(handler, 'name', { value: method.name });
    for (const key of Reflect.getOwnMetadataKeys(method)) Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, method), handler);
    const metadata: DurableHandlerMetadata = { options: options as DurableHandlerOptions, method };
    Reflect.defineMetadata(DURABLE_HANDLER_METADATA, metadata, handler);
    descriptor.value = handler;
    UseInterceptors(new RejectedMessageInterceptor())(target, propertyKey, descriptor);
    return descriptor;
  };
}
