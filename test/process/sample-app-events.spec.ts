import * as amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { OrderStatusView } from '../../sample-app/orders/orders.controller';
import type { ChildApp } from '../support/child-app';
import { dropSchema, sql, uniqueSchema } from '../support/database';
import { startSampleApp } from '../support/sample-app';
import { waitFor } from '../support/wait';

const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Publishes one Nest RMQ message ({ pattern, data }) to the queue, persistent, with a message id. */
async function publish(queue: string, data: unknown): Promise<void> {
  const connection = await amqp.connect(RABBITMQ_URL);
  try {
    const channel = await connection.createConfirmChannel();
    channel.sendToQueue(queue, Buffer.from(JSON.stringify({ pattern: 'orders.created', data })), { persistent: true, messageId: randomUUID() });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

async function deleteQueues(...queues: string[]): Promise<void> {
  const connection = await amqp.connect(RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) await channel.deleteQueue(queue);
  } finally {
    await connection.close();
  }
}

describe('sample app as a hybrid app: orders.created events from RabbitMQ start the checkout', () => {
  const dbosSchema = uniqueSchema('sample_ev_dbos');
  const appSchema = uniqueSchema('sample_ev_app');
  const ordersQueue = `sample-orders-${randomUUID().slice(0, 8)}`;
  let app: ChildApp | undefined;

  afterAll(async () => {
    app?.killGroup();
    await deleteQueues(ordersQueue, `${ordersQueue}.dead`).catch(() => undefined);
    await dropSchema(dbosSchema);
    await dropSchema(appSchema);
  });

  it('an event (delivered twice) checks the order out once; an order sent both as an event and over HTTP, once too', async () => {
    const { baseUrl } = await startSampleApp({ dbosSchema, appSchema }, { RABBITMQ_URL, ORDERS_QUEUE: ordersQueue }, (child) => (app = child));
    expect(app!.log).toContain(`Consuming orders.created events from RabbitMQ queue "${ordersQueue}"`);
    const stockBefore = (await sql<{ count: number }>(`SELECT count FROM "${appSchema}".stock WHERE sku = 'widget'`))[0].count;

    const orderId = `ev-${randomUUID().slice(0, 8)}`;
    const order = { orderId, sku: 'widget', quantity: 2 };
    await publish(ordersQueue, order);
    await publish(ordersQueue, order); // a redelivery, as a broker may make
    let view!: OrderStatusView;
    await waitFor(
      async () => {
        const res = await request(baseUrl).get(`/orders/order-${orderId}`);
        view = res.body as OrderStatusView;
        return res.status === 200 && view.status === 'SUCCESS';
      },
      30_000,
      100,
    );
    expect(view.result).toMatchObject({ orderId, sku: 'widget', quantity: 2 });
    // The same order over HTTP: the same workflow id, nothing checked out again.
    await request(baseUrl).post('/orders').send(order).expect(202);

    const handlers = await sql<{ workflow_id: string; status: string }>(
      `SELECT workflow_id, status FROM "${dbosSchema}".workflow_status WHERE workflow_name = 'OrderEventsController.onOrderCreated'`,
    );
    expect(handlers).toEqual([{ workflow_id: `OrderEventsController.onOrderCreated:${orderId}`, status: 'SUCCESS' }]);
    const stockAfter = (await sql<{ count: number }>(`SELECT count FROM "${appSchema}".stock WHERE sku = 'widget'`))[0].count;
    expect(stockBefore - stockAfter).toBe(2);
  });
});
