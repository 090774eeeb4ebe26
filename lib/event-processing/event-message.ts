import { JetStreamContext } from './jetstream.context';

/**
 * One received message, as the durable handler sees it on any transport: its identity (if the
 * transport has one) and how to acknowledge it, dead-letter it or have it delivered again.
 */
export interface EventMessage {
  transport: string;
  /** The transport's identity of the message, the same on every delivery; undefined when it has none. */
  identity(): string | undefined;
  /** The W3C trace-context headers it carried (traceparent, tracestate), when the transport has headers. */
  headers(): Record<string, unknown> | undefined;
  ack(): Promise<void>;
  /** Never delivered again: to the transport's dead-letter mechanism when it has one. */
  deadLetter(reason: string): Promise<void>;
  /** Delivered again later (the start could not be made durable now). */
  retryLater(error: unknown): Promise<void>;
}

/** How long a message whose start failed for a passing reason waits before its redelivery. */
const RETRY_DELAY_MS = 1_000;

interface AmqpChannel {
  ack(message: unknown): void;
  nack(message: unknown, allUpTo?: boolean, requeue?: boolean): void;
}
interface AmqpMessage {
  properties: { messageId?: unknown; headers?: Record<string, unknown> };
}
type Ctx = Record<string, unknown> | null | undefined;

const has = (ctx: Ctx, ...methods: string[]): boolean => typeof ctx === 'object' && ctx !== null && methods.every((m) => typeof ctx[m] === 'function');

/** The message behind a Nest transport's context (RmqContext, KafkaContext, MqttContext, JetStreamContext, ...). */
export function eventMessageOf(context: unknown): EventMessage {
  if (context instanceof JetStreamContext) return jetStreamMessage(context);
  const ctx = context as Ctx;
  if (has(ctx, 'getChannelRef', 'getMessage')) return rmqMessage(ctx as unknown as RmqLike);
  if (has(ctx, 'getTopic', 'getPartition', 'getMessage')) return kafkaMessage(ctx as unknown as KafkaLike);
  return withoutAcknowledgement(has(ctx, 'getTopic', 'getPacket') ? 'MQTT' : 'this transport');
}

interface RmqLike {
  getChannelRef(): AmqpChannel;
  getMessage(): AmqpMessage;
}

function rmqMessage(ctx: RmqLike): EventMessage {
  const channel = ctx.getChannelRef();
  const message = ctx.getMessage();
  // A channel that closed meanwhile (connection lost) already returned the message to the queue.
  const safely = (settle: () => void) => {
    try {
      settle();
    } catch {
      /* redelivered by the broker */
    }
  };
  return {
    transport: 'RabbitMQ',
    identity: () => (message.properties.messageId === undefined ? undefined : String(message.properties.messageId)),
    headers: () => message.properties.headers,
    ack: async () => safely(() => channel.ack(message)),
    deadLetter: async () => safely(() => channel.nack(message, false, false)),
    retryLater: async () => void setTimeout(() => safely(() => channel.nack(message, false, true)), RETRY_DELAY_MS).unref(),
  };
}

interface KafkaLike {
  getTopic(): string;
  getPartition(): number;
  getMessage(): { offset: string; headers?: Record<string, unknown> };
}

/** Kafka: Nest commits the offset after the handler resolved, so acknowledging is returning. */
function kafkaMessage(ctx: KafkaLike): EventMessage {
  return {
    transport: 'Kafka',
    identity: () => `${ctx.getTopic()}-${ctx.getPartition()}-${ctx.getMessage().offset}`,
    headers: () => ctx.getMessage().headers,
    ack: async () => undefined,
    // No dead-letter topic of its own: the offset moves past it (the log line keeps it).
    deadLetter: async () => undefined,
    retryLater: async (error) => {
      throw error;
    },
  };
}

function jetStreamMessage(ctx: JetStreamContext): EventMessage {
  return {
    transport: 'JetStream',
    identity: () => ctx.getIdentity(),
    headers: () => {
      const headers = ctx.getMessage().headers;
      return headers && { traceparent: headers.get('traceparent'), tracestate: headers.get('tracestate') };
    },
    ack: () => ctx.ack(),
    deadLetter: (reason) => ctx.deadLetter(reason),
    retryLater: async () => ctx.retryLater(),
  };
}

/** MQTT and the others acknowledge on receipt (or never): only the key protects against repeats. */
function withoutAcknowledgement(transport: string): EventMessage {
  return {
    transport,
    identity: () => undefined,
    headers: () => undefined,
    ack: async () => undefined,
    deadLetter: async () => undefined,
    retryLater: async (error) => {
      throw error;
    },
  };
}
