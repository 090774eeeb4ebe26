import type { INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import type { App } from 'supertest/types';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DbosExceptionFilter, WorkflowClient } from 'nestjs-dbos';
import { DbosTestingModule, DbosTestKit } from 'nestjs-dbos/testing';
import { APP_CONFIG, type AppConfig } from '../../sample-app/app.config';
import { CheckoutModule } from '../../sample-app/checkout/checkout.module';
import { appTypeOrmOptions } from '../../sample-app/database/app-data-source';
import { DatabaseModule } from '../../sample-app/database/database.module';
import type { OrderStatusView } from '../../sample-app/orders/orders.controller';
import { OrdersModule } from '../../sample-app/orders/orders.module';
import { StockModule } from '../../sample-app/stock/stock.module';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';

/**
 * The sample app's checkout tested as a user of `nestjs-dbos/testing` would: the app's own modules,
 * DbosTestingModule in place of DbosModule, supertest on the HTTP API. A bank transfer waits up to a
 * day for the payment provider's webhook; the kit moves the clock instead of waiting.
 */
describe('sample app with the test kit: a day-long wait for payment, and a crash at every step', () => {
  const config: AppConfig = { databaseUrl: databaseUrl(), dbosSchema: 'unused', appSchema: uniqueSchema('sample_kit'), ordersQueue: 'orders' };
  let app: INestApplication;
  let http: App;
  let kit: DbosTestKit;
  let client: WorkflowClient;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        DatabaseModule,
        TypeOrmModule.forRootAsync(appTypeOrmOptions),
        // Instead of the app's DbosModule.forRootAsync: the same DataSource, a schema of the test's own, the kit's clock.
        DbosTestingModule.forRootAsync({ inject: [DataSource], useFactory: (dataSource: DataSource) => ({ database: { dataSource } }) }),
        StockModule,
        CheckoutModule,
        OrdersModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: DbosExceptionFilter }],
    })
      .overrideProvider(APP_CONFIG)
      .useValue(config)
      .compile();
    app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
    await app.init();
    http = app.getHttpServer();
    kit = app.get(DbosTestKit);
    client = app.get(WorkflowClient);
  });

  afterAll(async () => {
    await app?.close();
    await dropSchema(config.appSchema);
  });

  const newOrder = (quantity = 2) => ({ orderId: `o-${randomUUID().slice(0, 8)}`, sku: 'widget', quantity, payment: 'bank-transfer' });

  async function placeOrder(order: object): Promise<string> {
    return ((await request(http).post('/orders').send(order).expect(202)).body as { workflowId: string }).workflowId;
  }

  const confirmPayment = (workflowId: string) => request(http).post(`/orders/${workflowId}/payment-confirmation`).expect(202);
  const orderView = async (workflowId: string) => (await request(http).get(`/orders/${workflowId}`).expect(200)).body as OrderStatusView;

  /** The parcels the warehouse was asked to ship for an order: the sample's own table. */
  async function shipmentsOf(orderId: string): Promise<{ trackingNumber: string }[]> {
    return sql(`SELECT "trackingNumber" FROM "${config.appSchema}".shipment WHERE "orderId" = $1`, [orderId]);
  }

  async function stockOf(sku: string): Promise<number> {
    return (await sql<{ count: number }>(`SELECT count FROM "${config.appSchema}".stock WHERE sku = $1`, [sku]))[0].count;
  }

  it('a bank transfer nobody confirms: 25 hours later the order is cancelled, nothing taken or shipped, in milliseconds of wall time', async () => {
    const started = Date.now();
    const order = newOrder();
    const stockBefore = await stockOf('widget');
    const workflowId = await placeOrder(order);
    await kit.runUntilIdle(); // the checkout now waits for the webhook

    await kit.advanceTime('23h');
    expect(await orderView(workflowId)).toEqual({ workflowId, status: 'PENDING' });
    await kit.advanceTime('2h');

    const outcome = await orderView(workflowId);
    expect(outcome.status).toBe('ERROR');
    expect(outcome.error).toEqual({ name: 'PaymentNotConfirmedError', message: expect.stringMatching(/^Payment pay-\S+ was not confirmed within 24 hours/) });
    expect(await shipmentsOf(order.orderId)).toEqual([]);
    expect(await stockOf('widget')).toBe(stockBefore);
    const steps = (await client.listSteps(workflowId)).map((s) => s.name).filter((name) => name.startsWith('CheckoutService.'));
    expect(steps).toEqual(['CheckoutService.validatePayment', 'CheckoutService.cancelPayment']);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a bank transfer confirmed by the webhook 20 hours later ships once; a repeated webhook changes nothing', async () => {
    const order = newOrder(3);
    const stockBefore = await stockOf('widget');
    const workflowId = await placeOrder(order);
    await kit.runUntilIdle();
    await kit.advanceTime('20h');
    expect((await orderView(workflowId)).status).toBe('PENDING');

    await confirmPayment(workflowId);
    await kit.runUntilIdle();

    const outcome = await orderView(workflowId);
    expect(outcome).toMatchObject({ status: 'SUCCESS', result: { orderId: order.orderId, quantity: 3, remainingStock: stockBefore - 3 } });
    expect(await shipmentsOf(order.orderId)).toEqual([{ trackingNumber: outcome.result!.trackingNumber }]);
    await confirmPayment(workflowId);
    await kit.advanceTime('2d');
    expect(await shipmentsOf(order.orderId)).toHaveLength(1);
    expect(await stockOf('widget')).toBe(stockBefore - 3);
  });

  it('the webhook for an order nobody placed answers 404', async () => {
    await request(http).post('/orders/order-never-placed/payment-confirmation').expect(404);
  });

  describe('a crash at each step of a confirmed checkout: the order still ships exactly once', () => {
    const STEPS = ['CheckoutService.validatePayment', 'CheckoutService.checkInventory', 'CheckoutService.shipOrder', 'CheckoutService.notifyCustomer'];

    /** Places a bank-transfer order, confirms it after an hour, and checks it shipped once and took its units once. */
    async function checkoutShipsOnce(crash: { during?: string; whileWaiting?: boolean }): Promise<void> {
      const order = newOrder();
      const stockBefore = await stockOf('widget');
      const crashed = crash.during ? kit.crashAt(crash.during) : undefined;
      const workflowId = await placeOrder(order);
      await kit.runUntilIdle();
      if (crash.whileWaiting) await kit.crash();
      await kit.advanceTime('1h');
      await confirmPayment(workflowId);
      await kit.runUntilIdle();
      await crashed;
      await kit.runUntilIdle();

      const outcome = await orderView(workflowId);
      expect(outcome.status).toBe('SUCCESS');
      expect(await shipmentsOf(order.orderId)).toEqual([{ trackingNumber: outcome.result!.trackingNumber }]);
      expect(await stockOf('widget')).toBe(stockBefore - order.quantity);
      expect(outcome.result!.remainingStock).toBe(stockBefore - order.quantity);
      expect((await client.getStatus(workflowId))!.recoveryAttempts).toBeGreaterThanOrEqual(1); // it did crash and recover
    }

    it.each(STEPS)('during %s', (step) => checkoutShipsOnce({ during: step }));

    it('while it waits for the payment confirmation', () => checkoutShipsOnce({ whileWaiting: true }));

    it('during CheckoutService.cancelPayment, on the timeout branch: cancelled once, nothing shipped', async () => {
      const order = newOrder();
      const crashed = kit.crashAt('CheckoutService.cancelPayment');
      const workflowId = await placeOrder(order);
      await kit.advanceTime('25h');
      await crashed;
      await kit.runUntilIdle();

      expect((await orderView(workflowId)).error?.name).toBe('PaymentNotConfirmedError');
      expect(await shipmentsOf(order.orderId)).toEqual([]);
      expect((await client.getStatus(workflowId))!.recoveryAttempts).toBeGreaterThanOrEqual(1);
    });
  });
});
