import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DbosContext, Step, Transaction, Workflow } from 'nestjs-dbos';
import { Shipment } from '../shipping/shipment.entity';
import { Stock } from '../stock/stock.entity';
import type { CheckoutProgress, Order, Receipt } from './order';
import { OutOfStockError } from './out-of-stock.error';
import { PaymentNotConfirmedError } from './payment-not-confirmed.error';

export const PROGRESS_STREAM = 'progress';
/** The topic of the payment provider's confirmation of a bank transfer (POST /orders/:workflowId/payment-confirmation). */
export const PAYMENT_CONFIRMATION = 'payment-confirmation';
/** How long a bank transfer may take to be confirmed before the order is cancelled. */
export const CONFIRMATION_TIMEOUT_HOURS = 24;

/**
 * The checkout as a durable workflow. After a crash it resumes from its last completed step: a
 * recorded payment is not made again, and the stock update and the shipment commit exactly once.
 */
@Injectable()
export class CheckoutService {
  private readonly logger = new Logger(CheckoutService.name);

  constructor(private readonly dbos: DbosContext) {}

  @Workflow()
  async checkout(order: Order): Promise<Receipt> {
    const paymentId = await this.validatePayment(order);
    await this.progress({ stage: 'payment-validated', detail: paymentId });
    if (order.payment === 'bank-transfer') await this.awaitPaymentConfirmation(paymentId);
    const remainingStock = await this.checkInventory(order);
    await this.progress({ stage: 'inventory-reserved', detail: `${remainingStock} left` });
    const trackingNumber = await this.shipOrder(order);
    await this.progress({ stage: 'shipped', detail: trackingNumber });
    await this.notifyCustomer(order, trackingNumber);
    await this.progress({ stage: 'customer-notified' });
    await this.dbos.closeStream(PROGRESS_STREAM);
    return { orderId: order.orderId, sku: order.sku, quantity: order.quantity, paymentId, trackingNumber, remainingStock };
  }

  /**
   * A bank transfer is paid when the provider says so, through its webhook. The workflow waits for
   * that message durably (a restart meanwhile changes nothing) for up to a day; then it cancels
   * the payment request and the order, and nothing is taken from stock or shipped.
   */
  private async awaitPaymentConfirmation(paymentId: string): Promise<void> {
    await this.progress({ stage: 'awaiting-payment-confirmation', detail: paymentId });
    const timeoutMs = CONFIRMATION_TIMEOUT_HOURS * 3_600_000;
    const confirmation = await this.dbos.recv<string>(PAYMENT_CONFIRMATION, { timeoutMs });
    if (confirmation === null) {
      await this.cancelPayment(paymentId);
      throw new PaymentNotConfirmedError(paymentId, CONFIRMATION_TIMEOUT_HOURS);
    }
    await this.progress({ stage: 'payment-confirmed', detail: confirmation });
  }

  /** Each stage goes to the workflow's progress stream (durably, once), which the SSE endpoint relays. */
  private progress(update: CheckoutProgress): Promise<void> {
    return this.dbos.writeStream(PROGRESS_STREAM, update);
  }

  /** Stands in for a payment provider's API; a failing call is retried with backoff. */
  @Step({ retries: { maxAttempts: 5, intervalMs: 500, backoffRate: 2 } })
  async validatePayment(order: Order): Promise<string> {
    const paymentId = `pay-${await this.dbos.randomUUID()}`;
    const outcome = order.payment === 'bank-transfer' ? 'awaits the bank transfer' : 'authorized';
    this.logger.log(`Order ${order.orderId}: payment ${paymentId} ${outcome}`);
    return paymentId;
  }

  /** Stands in for the payment provider's API: the transfer is no longer expected. */
  @Step({ retries: { maxAttempts: 5, intervalMs: 500, backoffRate: 2 } })
  async cancelPayment(paymentId: string): Promise<void> {
    this.logger.log(`Payment ${paymentId} cancelled: not confirmed within ${CONFIRMATION_TIMEOUT_HOURS} hours`);
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

  /** Books the parcel for the warehouse: the shipment row commits together with the step's checkpoint, so an order ships once. */
  @Transaction()
  async shipOrder(order: Order): Promise<string> {
    const trackingNumber = `TRK-${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}`;
    await this.dbos.entityManager.insert(Shipment, { orderId: order.orderId, sku: order.sku, quantity: order.quantity, trackingNumber });
    this.logger.log(`Order ${order.orderId}: ${order.quantity} x ${order.sku} shipped, tracking ${trackingNumber}`);
    return trackingNumber;
  }

  @Step()
  async notifyCustomer(order: Order, trackingNumber: string): Promise<void> {
    this.logger.log(`Order ${order.orderId}: customer notified (tracking ${trackingNumber})`);
  }
}
