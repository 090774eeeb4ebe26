/** What the app reads from its environment. */
export interface AppConfig {
  /** Postgres of the app. Unset: an embedded Postgres under `.dbos/pgdata` (development only). */
  databaseUrl?: string;
  /** Schema of the workflow system tables. */
  dbosSchema: string;
  /** Schema of the app's own tables (`stock`). */
  appSchema: string;
  /** RabbitMQ to consume `orders.created` events from; unset, the app takes orders over HTTP only. */
  rabbitmqUrl?: string;
  /** The RabbitMQ queue of order events (its dead-letter queue is `<queue>.dead`). */
  ordersQueue: string;
}

export const APP_CONFIG = Symbol('APP_CONFIG');

export function appConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AppConfig {
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dbosSchema: env.DBOS_SCHEMA || 'dbos',
    appSchema: env.APP_SCHEMA || 'public',
    rabbitmqUrl: env.RABBITMQ_URL || undefined,
    ordersQueue: env.ORDERS_QUEUE || 'orders',
  };
}
