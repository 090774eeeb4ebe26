import { Logger } from '@nestjs/common';
import { isObservable, lastValueFrom } from 'rxjs';
import type { ConsumerMessages, JsMsg, NatsConnection } from 'nats';
import { JetStreamContext, type JetStreamMessage } from './jetstream.context';

/** Pass it to `@EventPattern(subject, JETSTREAM_TRANSPORT)` to bind a handler to JetStreamServer only. */
export const JETSTREAM_TRANSPORT = Symbol('JETSTREAM');

export interface JetStreamServerOptions {
  servers: string | string[];
  /** The stream to consume (created by the app or its operators). */
  stream: string;
  /** The durable consumer (created with explicit acks when missing): its position survives restarts. */
  consumer: string;
  filterSubject?: string;
  /** Where rejected messages are published (a stream that captures this subject keeps them). */
  deadLetterSubject?: string;
  /** Unacknowledged messages come back after this long (default 30 s); a running handler keeps its message. */
  ackWaitMs?: number;
  /** Messages handled at once (default 256). */
  maxAckPending?: number;
  /** Delay before a redelivery asked for by a handler (default 1 s). */
  retryDelayMs?: number;
}

type EventHandler = ((data: unknown, context: JetStreamContext) => unknown) & { isEventHandler?: boolean };

/**
 * A Nest microservice transport (custom strategy: `connectMicroservice({ strategy })`) consuming
 * a JetStream durable consumer and dispatching each message to the `@EventPattern` handler of its
 * subject. Messages carry JSON (the payload itself, or Nest's `{ pattern, data }`). A message is
 * acknowledged once its handler resolved (a @DurableHandler settles it itself), delivered again
 * when the handler threw. `@nestjs/microservices` is not needed to load it: it only implements
 * what Nest calls on a server.
 */
export class JetStreamServer {
  readonly transportId = JETSTREAM_TRANSPORT;
  readonly providesMessageIdentity = true;
  readonly propagatesEventHandlerErrors = true;
  private readonly logger = new Logger(JetStreamServer.name);
  private readonly handlers = new Map<string, EventHandler>();
  private connection?: NatsConnection;
  private messages?: ConsumerMessages;
  private consuming?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: JetStreamServerOptions) {}

  addHandler(pattern: unknown, handler: EventHandler, isEventHandler = false): void {
    handler.isEventHandler = isEventHandler;
    this.handlers.set(typeof pattern === 'string' ? pattern : JSON.stringify(pattern), handler);
  }

  getHandlers(): Map<string, EventHandler> {
    return this.handlers;
  }

  unwrap<T>(): T {
    return this.connection as T;
  }

  on(): void {
    // Status events are not reported by this transport.
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      await this.start();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    await this.messages?.close();
    await this.consuming;
    await Promise.allSettled([...this.inFlight]);
    await this.connection?.drain();
  }

  private async start(): Promise<void> {
    const { AckPolicy, connect, nanos } = await import('nats');
    const { stream, consumer } = this.options;
    this.connection = await connect({ servers: this.options.servers, name: `nestjs-dbos ${consumer}` });
    const manager = await this.connection.jetstreamManager();
    await manager.consumers.add(stream, {
      durable_name: consumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(this.ackWaitMs),
      max_ack_pending: this.options.maxAckPending ?? 256,
      ...(this.options.filterSubject ? { filter_subject: this.options.filterSubject } : {}),
    });
    this.messages = await (await this.connection.jetstream().consumers.get(stream, consumer)).consume({ max_messages: this.options.maxAckPending ?? 256 });
    this.consuming = this.consume(this.messages);
  }

  private get ackWaitMs(): number {
    return this.options.ackWaitMs ?? 30_000;
  }

  private async consume(messages: ConsumerMessages): Promise<void> {
    for await (const message of messages) {
      const done = this.dispatch(message).finally(() => this.inFlight.delete(done));
      this.inFlight.add(done);
    }
  }

  private async dispatch(message: JsMsg): Promise<void> {
    const context = new JetStreamContext(message, { deadLetter: (m, reason) => this.deadLetter(m, reason), retryDelayMs: this.options.retryDelayMs ?? 1_000 });
    let pattern = message.subject;
    let data: unknown;
    try {
      const body = JSON.parse(new TextDecoder().decode(message.data)) as unknown;
      const packet = body as { pattern?: unknown; data?: unknown };
      if (packet !== null && typeof packet === 'object' && 'pattern' in packet && 'data' in packet) {
        pattern = typeof packet.pattern === 'string' ? packet.pattern : JSON.stringify(packet.pattern);
        data = packet.data;
      } else {
        data = body;
      }
    } catch {
      this.logger.error(`Rejected JetStream message ${context.getIdentity()} on "${message.subject}": it is not JSON`);
      return context.deadLetter('not JSON');
    }
    const handler = this.handlers.get(pattern);
    if (!handler) {
      this.logger.error(`Rejected JetStream message ${context.getIdentity()}: no event handler for "${pattern}"`);
      return context.deadLetter(`no handler for ${pattern}`);
    }
    // A handler running longer than the ack wait keeps its message (no redelivery meanwhile).
    const working = setInterval(() => message.working(), Math.max(100, Math.floor(this.ackWaitMs / 2)));
    try {
      const result = await handler(data, context);
      if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
      await context.ack();
    } catch (error) {
      this.logger.warn(`JetStream message ${context.getIdentity()} will be delivered again: ${(error as Error).message ?? error}`);
      context.retryLater();
    } finally {
      clearInterval(working);
    }
  }

  private async deadLetter(message: JetStreamMessage, reason: string): Promise<void> {
    const { deadLetterSubject } = this.options;
    if (deadLetterSubject && this.connection) {
      const { headers } = await import('nats');
      const h = headers();
      h.set('Dbos-Original-Subject', message.subject);
      h.set('Dbos-Original-Sequence', `${message.info.stream}-${message.seq}`);
      h.set('Dbos-Reason', reason.slice(0, 500).replace(/[\r\n]/g, ' '));
      try {
        await this.connection.jetstream().publish(deadLetterSubject, message.data, { headers: h });
      } catch (error) {
        this.logger.error(
          `JetStream message ${message.info.stream}-${message.seq} could not be published to "${deadLetterSubject}" (${(error as Error).message}); it is dropped`,
        );
      }
    }
    message.term();
  }
}
