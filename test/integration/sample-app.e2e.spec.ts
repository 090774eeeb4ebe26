import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { App } from 'supertest/types';
import { randomUUID } from 'node:crypto';
import { WorkflowClient } from '../../lib';
import { APP_CONFIG, type AppConfig } from '../../sample-app/app.config';
import { AppModule } from '../../sample-app/app.module';
import type { OrderStatusView } from '../../sample-app/orders/orders.controller';
import { INITIAL_STOCK } from '../../sample-app/stock/stock.seeder';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

const WIDGETS = INITIAL_STOCK.find((row) => row.sku === 'widget')!.count;

async function startApp(config: AppConfig): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(APP_CONFIG)
    .useValue(config)
    .compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.init();
  return app;
}

describe('sample app: checkout over HTTP', () => {
  const config: AppConfig = {
    databaseUrl: databaseUrl(),
    dbosSchema: uniqueSchema('sample_dbos'),
    appSchema: uniqueSchema('sample_app'),
    ordersQueue: 'orders',
  };
  let app: INestApplication;
  let http: App;

  beforeAll(async () => {
    app = await startApp(config);
    http = app.getHttpServer();
  });

  afterAll(async () => {
    await app?.close();
    await dropSchema(config.dbosSchema);
    await dropSchema(config.appSchema);
  });

  const newOrderId = () => `o-${randomUUID().slice(0, 8)}`;

  async function stockOf(sku: string): Promise<number | undefined> {
    const rows = await sql<{ count: number }>(`SELECT count FROM "${config.appSchema}".stock WHERE sku = $1`, [sku]);
    return rows[0]?.count;
  }

  async function placeOrder(body: object): Promise<string> {
    const response = await request(http).post('/orders').send(body).expect(202);
    return (response.body as { workflowId: string }).workflowId;
  }

  /** Polls GET /orders/:id until the checkout has finished, and answers the last body. */
  async function outcomeOf(workflowId: string): Promise<OrderStatusView> {
    let body!: OrderStatusView;
    await waitFor(
      async () => {
        body = (await request(http).get(`/orders/${workflowId}`).expect(200)).body as OrderStatusView;
        return !['PENDING', 'ENQUEUED'].includes(body.status);
      },
      20_000,
      50,
    );
    return body;
  }

  it('GET /health/live answers 200 while the workflow database answers', async () => {
    const response = await request(http).get('/health/live').expect(200);
    expect(response.body).toMatchObject({ status: 'ok', info: { workflows: { status: 'up', database: 'up' } } });
  });

  it('GET /health/ready answers 200 once the listener is up and recovery is done', async () => {
    const response = await request(http).get('/health/ready').expect(200);
    expect(response.body).toMatchObject({ status: 'ok', info: { workflows: { status: 'up', database: 'up', listener: 'up', recovery: 'done' } } });
  });

  it('seeds the stock table with plenty of widgets at startup', async () => {
    expect(await stockOf('widget')).toBe(WIDGETS);
  });

  it('POST /orders answers 202 with the workflow id "order-<orderId>", and GET shows the receipt once the checkout succeeded', async () => {
    const orderId = newOrderId();
    const before = (await stockOf('widget'))!;

    const workflowId = await placeOrder({ orderId, sku: 'widget', quantity: 3 });

    expect(workflowId).toBe(`order-${orderId}`);
    const outcome = await outcomeOf(workflowId);
    expect(outcome).toEqual({
      workflowId,
      status: 'SUCCESS',
      result: {
        orderId,
        sku: 'widget',
        quantity: 3,
        paymentId: expect.stringMatching(/^pay-/),
        trackingNumber: expect.stringMatching(/^TRK-[0-9A-F]{12}$/),
        remainingStock: before - 3,
      },
    });
    expect(outcome.error).toBeUndefined();
  });

  it('takes exactly the ordered quantity from stock', async () => {
    const before = (await stockOf('widget'))!;

    await outcomeOf(await placeOrder({ orderId: newOrderId(), sku: 'widget', quantity: 7 }));

    expect(await stockOf('widget')).toBe(before - 7);
  });

  it('runs validatePayment, checkInventory, shipOrder and notifyCustomer as checkpointed steps, in that order', async () => {
    const workflowId = await placeOrder({ orderId: newOrderId(), sku: 'widget', quantity: 1 });
    await outcomeOf(workflowId);

    const steps = await app.get(WorkflowClient).listSteps(workflowId);

    expect(steps.map((step) => step.name).filter((name) => !name.startsWith('DBOS.'))).toEqual([
      'CheckoutService.validatePayment',
      'CheckoutService.checkInventory',
      'CheckoutService.shipOrder',
      'CheckoutService.notifyCustomer',
    ]);
  });

  it('GET /orders/:workflowId/progress streams the checkout stages as server-sent events', async () => {
    const workflowId = await placeOrder({ orderId: newOrderId(), sku: 'widget', quantity: 1 });
    const response = await request(http)
      .get(`/orders/${workflowId}/progress`)
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => done(null, text));
      });
    expect(response.headers['content-type']).toMatch(/text\/event-stream/);
    const events = String(response.body)
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice('data: '.length)) as { stage: string });
    expect(events.map((e) => e.stage)).toEqual(['payment-validated', 'inventory-reserved', 'shipped', 'customer-notified']);
  });

  it('a repeated POST with the same orderId answers the same workflow id and does not check out again', async () => {
    const order = { orderId: newOrderId(), sku: 'widget', quantity: 2 };
    const first = await placeOrder(order);
    const receipt = (await outcomeOf(first)).result;
    const afterFirst = await stockOf('widget');

    const second = await placeOrder(order);

    expect(second).toBe(first);
    expect((await outcomeOf(second)).result).toEqual(receipt);
    expect(await stockOf('widget')).toBe(afterFirst);
  });

  it('concurrent POSTs of one order run its checkout once', async () => {
    const order = { orderId: newOrderId(), sku: 'widget', quantity: 4 };
    const before = (await stockOf('widget'))!;

    const ids = await Promise.all(Array.from({ length: 5 }, () => placeOrder(order)));

    expect(new Set(ids)).toEqual(new Set([`order-${order.orderId}`]));
    expect((await outcomeOf(ids[0])).status).toBe('SUCCESS');
    expect(await stockOf('widget')).toBe(before - 4);
  });

  it.each([
    ['no orderId', { sku: 'widget', quantity: 1 }, 'orderId must be a non-empty string'],
    ['an empty orderId', { orderId: ' ', sku: 'widget', quantity: 1 }, 'orderId must be a non-empty string'],
    ['no sku', { orderId: 'o-x', quantity: 1 }, 'sku must be a non-empty string'],
    ['a quantity of zero', { orderId: 'o-x', sku: 'widget', quantity: 0 }, 'quantity must be a positive integer'],
    ['a negative quantity', { orderId: 'o-x', sku: 'widget', quantity: -2 }, 'quantity must be a positive integer'],
    ['a fractional quantity', { orderId: 'o-x', sku: 'widget', quantity: 1.5 }, 'quantity must be a positive integer'],
    ['a quantity given as a string', { orderId: 'o-x', sku: 'widget', quantity: '1' }, 'quantity must be a positive integer'],
  ])('POST /orders with %s answers 400 saying what is wrong, and starts nothing', async (_case, body, problem) => {
    const response = await request(http).post('/orders').send(body).expect(400);

    expect(response.body.message).toContain(problem);
    await request(http).get('/orders/order-o-x').expect(404);
  });

  it('GET /orders/:workflowId answers 404 for an unknown workflow id', async () => {
    const response = await request(http).get('/orders/order-never-placed').expect(404);

    expect(response.body.message).toContain('order-never-placed');
  });

  it('GET /orders/:workflowId/progress answers 404 for an unknown workflow id, not an error event in a 200', async () => {
    const response = await request(http).get('/orders/order-never-placed/progress').expect(404);

    expect(response.headers['content-type']).toMatch(/application\/json/);
    expect(response.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'No workflow has the id "order-never-placed".' });
  });

  it('an order for more than the stock ends in ERROR with an OutOfStockError, and takes nothing from stock', async () => {
    const before = (await stockOf('widget'))!;

    const outcome = await outcomeOf(await placeOrder({ orderId: newOrderId(), sku: 'widget', quantity: before + 1 }));

    expect(outcome.status).toBe('ERROR');
    expect(outcome.result).toBeUndefined();
    expect(outcome.error).toEqual({
      name: 'OutOfStockError',
      message: `Not enough stock of "widget": ${before + 1} requested, ${before} available.`,
    });
    expect(await stockOf('widget')).toBe(before);
  });

  it('an order for a sku that is not stocked ends in ERROR with an OutOfStockError', async () => {
    const outcome = await outcomeOf(await placeOrder({ orderId: newOrderId(), sku: 'gizmo', quantity: 1 }));

    expect(outcome.status).toBe('ERROR');
    expect(outcome.error?.name).toBe('OutOfStockError');
  });

  it('a restart keeps the stock count instead of seeding it again', async () => {
    await outcomeOf(await placeOrder({ orderId: newOrderId(), sku: 'widget', quantity: 1 }));
    const before = await stockOf('widget');
    expect(before).toBeLessThan(WIDGETS);

    const restarted = await startApp(config);
    await restarted.close();

    expect(await stockOf('widget')).toBe(before);
  });
});
