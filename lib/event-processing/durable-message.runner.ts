import { Logger } from '@nestjs/common';
import type { WorkflowRegistration } from '../discovery/registration.interfaces';
import { DbosConflictError } from '../errors/conflict.error';
import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import { DbosSerializationError } from '../errors/serialization.error';
import type { WorkflowControl } from '../execution/workflow.control';
import type { WorkflowExecutor } from '../execution/workflow.executor';
import { traceContextOfHeaders } from '../observability/trace-context';
import { isTerminal } from '../workflow/workflow.outcome';
import type { DurableMessageRunner } from './durable-handler.bindings';
import type { DurableHandlerOptions } from './durable-handler.options';
import { eventMessageOf, type EventMessage } from './event-message';
import { workflowLabel } from '../observability/log-label';

/** Why a message can never start its workflow: it goes to the dead letters instead of coming back forever. */
export function isPoison(error: unknown): boolean {
  return error instanceof DbosSerializationError || error instanceof DbosInvalidArgumentError || error instanceof DbosConflictError;
}

/**
 * One durable handler at work: each message starts its workflow with the id
 * `<workflowName>:<key>`, and is acknowledged only once that start is durable (or the workflow
 * finished, with awaitCompletion). A redelivery computes the same id and finds the workflow there.
 */
export class DurableMessageHandler implements DurableMessageRunner {
  private readonly logger = new Logger('DurableHandler');

  constructor(
    private readonly registration: WorkflowRegistration,
    private readonly options: DurableHandlerOptions,
    private readonly executor: WorkflowExecutor,
    /** Where its handles come from. */
    private readonly control: WorkflowControl,
  ) {}

  async handle(data: unknown, context: unknown): Promise<void> {
    const message = eventMessageOf(context);
    let workflowId: string;
    try {
      workflowId = `${this.registration.name}:${this.keyOf(data, context, message)}`;
    } catch (error) {
      return this.deadLetter(message, error, undefined);
    }
    try {
      // The trace the message carried (W3C headers), else the span active here (a transport's instrumentation).
      const traceContext = traceContextOfHeaders(message.headers());
      await this.executor.startWorkflow(this.registration, [data], { workflowId, queue: this.options.queue }, { traceContext });
      if (this.options.awaitCompletion) await this.finished(workflowId);
    } catch (error) {
      if (isPoison(error)) return this.deadLetter(message, error, workflowId);
      this.logger.warn(`${workflowLabel(workflowId)}: its ${message.transport} message will be delivered again: ${(error as Error).message}`);
      return message.retryLater(error);
    }
    await message.ack();
  }

  /** A message that failed before it reached the handler (a pipe's validation): dead-lettered. */
  async reject(data: unknown, context: unknown, error: unknown): Promise<void> {
    const message = eventMessageOf(context);
    let key: string | undefined;
    try {
      key = `${this.registration.name}:${this.keyOf(data, context, message)}`;
    } catch {
      key = undefined;
    }
    await this.deadLetter(message, error, key);
  }

  private keyOf(data: unknown, context: unknown, message: EventMessage): string {
    const key = this.options.key ? this.options.key(data, context) : message.identity();
    if (key === undefined || key === null || String(key) === '') {
      throw new DbosInvalidArgumentError(
        this.options.key
          ? `the key function of ${this.registration.name} returned no key`
          : `the ${message.transport} message has no identity of its own (RabbitMQ: set messageId when publishing); give @DurableHandler a key`,
      );
    }
    return String(key);
  }

  /** Waits for the workflow's end; its own failure is an end too (it ran, once). */
  private async finished(workflowId: string): Promise<void> {
    const handle = this.control.handle(workflowId);
    try {
      await handle.getResult();
    } catch (error) {
      const status = await handle.getStatus();
      if (!status || !isTerminal(status.status)) throw error;
    }
  }

  private async deadLetter(message: EventMessage, error: unknown, workflowId: string | undefined): Promise<void> {
    const reason = error instanceof Error ? error.message : String(error);
    const key = workflowId ?? (message.identity() !== undefined ? `${message.transport} message ${message.identity()}` : 'unknown key');
    this.logger.error(`Rejected a ${message.transport} message to the dead letters (key: ${key}): ${reason}`);
    await message.deadLetter(reason);
  }
}
