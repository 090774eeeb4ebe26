import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { DbosContext, DurableHandler } from 'nestjs-dbos';
import { CheckoutService } from '../checkout/checkout.service';
import type { Order } from '../checkout/order';
import { ParseOrderPipe } from './parse-order.pipe';

/**
 * Orders that arrive as `orders.created` events on RabbitMQ (when RABBITMQ_URL is set). The
 * handler is a workflow keyed by the order id, acknowledged once its start is durable: a
 * redelivered event runs once. It starts the same checkout as POST /orders, with the same
 * workflow id, so an order that comes both ways is checked out once. An event that fails the
 * pipe goes to the dead-letter queue.
 */
@Controller()
export class OrderEventsController {
  constructor(private readonly dbos: DbosContext) {}

  @EventPattern('orders.created')
  @DurableHandler({ key: (order: Order) => order.orderId })
  async onOrderCreated(@Payload(ParseOrderPipe) order: Order): Promise<string> {
    const checkout = await this.dbos.startWorkflow(CheckoutService, { workflowId: `order-${order.orderId}` }).checkout(order);
    return checkout.workflowId;
  }
}
