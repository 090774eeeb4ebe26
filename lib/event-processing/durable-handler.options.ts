/** How a message handler (`@EventPattern`) becomes a durable workflow: see DurableHandler. */
export interface DurableHandlerOptions<T = unknown> {
  /**
   * The message's key: the workflow id is `<workflowName>:<key>`, so a redelivered message (same
   * key) starts nothing new. Without it, the transport's own identity of the message is used
   * (RabbitMQ `messageId`, JetStream stream sequence, Kafka topic/partition/offset); a transport
   * without one (MQTT, Redis, core NATS, TCP) needs a key, which the module checks at startup.
   */
  key?: (data: T, context: unknown) => string | number;
  /** Start the workflows on this queue (with its limits) instead of at once in this process. */
  queue?: string;
  /** Acknowledge the message after the workflow finished instead of once its start is durable. */
  awaitCompletion?: boolean;
  /** The workflow's name; defaults to `<Class>.<method>`. */
  name?: string;
}
