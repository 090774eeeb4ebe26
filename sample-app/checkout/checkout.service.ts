import { Injectable, Logger } from '@nestjs/common';
import { DbosContext, Step, Transaction, Workflow } from 'nestjs-dbos';
import { Stock } from '../stock/stock.entity';
import type { CheckoutProgress, Order, Receipt } from './order';

export const PROGRESS_STREAM = 'progress';
import { OutOfStockError } from './out-of-stock.error';

/**
 * The checkout as a durable workflow. After a crash it resumes from its last completed step: a
 * recorded payment or shipment is not made again, and the stock update commits exactly once.
 */
@Injectable()
export class CheckoutService {
  private readonly logger = new Logger(CheckoutService.name);

  constructor(private readonly dbos: DbosContext) {}

  @Workflow()
  async checkout(order: Order): Promise<Receipt> {
    const paymentId = await this.validatePayment(order);
    await this.progress({ stage: 'payment-validated', detail: paymentId });
    const remainingStock = await this.checkInventory(order);
    await this.progress({ stage: 'inventory-reserved', detail: `${remainingStock} left` });
    const trackingNumber = await this.shipOrder(order);
    await this.progress({ stage: 'shipped', detail: trackingNumber });
    await this.notifyCustomer(order, trackingNumber);
    await this.progress({ stage: 'customer-notified' });
    await this.dbos.closeStream(PROGRESS_STREAM);
    return { orderId: order.orderId, sku: order.sku, quantity: order.quantity, paymentId, trackingNumber, remainingStock };
  }

  /** Each stage goes to the workflow's progress stream (durably, once), which the SSE endpoint relays. */
  private progress(update: CheckoutProgress): Promise<void> {
    return this.dbos.writeStream(PROGRESS_STREAM, update);
  }

  /** Stands in for a payment provider's API; a failing call is retried with backoff. */
  @Step({ retries: { maxAttempts: 5, intervalMs: 500, backoffRate: 2 } })
  async validatePayment(order: Order): Promise<string> {
    const paymentId = `pay-${await this.dbos.randomUUID()}`;
    this.logger.log(`Order ${order.orderId}: payment ${paymentId} authorized`);
    return paymentId;
  }

  /** Takes the units from stock; the update commits together with the step's checkpoint. */
  @Transaction()
  async checkInventory(order: Order): Promise<number> {
    const manager = this.dbos.entityManager;
    const stock = await manager.findOne(Stock, { where: { sku: order.sku }, lock: { mode: 'pessimistic_write' } });
    const available = stock?.count ?? 0;
    if (available < order.quantity) throw new OutOfStockError(order.sku, order.quantity, available);
    await manager.decrement(Stock, { sku: order.sku }, 'count', order.quantity);
    return available - order.quantity;
  }

  /** Stands in for a carrier's API. The tracking number is this step's checkpointed output. */
  @Step({ retries: { maxAttempts: 3, intervalMs: 1_000 } })
  async shipOrder(order: Order): Promise<string> {
    const trackingNumber = `TRK-${(await this.dbos.randomUUID()).replace(/-/g, '').slice(0, 12).toUpperCase()}`;
    this.logger.log(`Order ${order.orderId}: ${order.quantity} x ${order.sku} shipped, tracking ${trackingNumber}`);
    return trackingNumber;
  }

  @Step()
  async notifyCustomer(order: Order, trackingNumber: string): Promise<void> {
    this.logger.log(`Order ${order.orderId}: customer notified (tracking ${trackingNumber})`);
  }
}
