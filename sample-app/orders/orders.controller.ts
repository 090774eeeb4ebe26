import { Body, Controller, Get, HttpCode, HttpStatus, NotFoundException, Param, Post, Sse, type MessageEvent } from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import { WorkflowClient, WorkflowStatus, type WorkflowStatusType } from 'nestjs-dbos';
import { CheckoutService, PAYMENT_CONFIRMATION, PROGRESS_STREAM } from '../checkout/checkout.service';
import type { CheckoutProgress, Order, Receipt } from '../checkout/order';
import { ParseOrderPipe } from './parse-order.pipe';

export interface OrderAccepted {
  workflowId: string;
}

export interface OrderStatusView {
  workflowId: string;
  status: WorkflowStatusType;
  result?: Receipt;
  error?: { name: string; message: string };
}

@Controller('orders')
export class OrdersController {
  constructor(private readonly client: WorkflowClient) {}

  /** Starts the checkout. The workflow id comes from the order id, so a retried request never checks out twice. */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  async placeOrder(@Body(ParseOrderPipe) order: Order): Promise<OrderAccepted> {
    const handle = await this.client.start(CheckoutService, { workflowId: `order-${order.orderId}` }).checkout(order);
    return { workflowId: handle.workflowId };
  }

  /**
   * The payment provider's webhook: a bank transfer arrived. The checkout waiting for it goes on.
   * The idempotency key makes a webhook the provider repeats deliver nothing more; an unknown
   * workflow id is a 404.
   */
  @Post(':workflowId/payment-confirmation')
  @HttpCode(HttpStatus.ACCEPTED)
  async confirmPayment(@Param('workflowId') workflowId: string): Promise<void> {
    await this.client.send(workflowId, 'confirmed', PAYMENT_CONFIRMATION, { idempotencyKey: PAYMENT_CONFIRMATION });
  }

  /**
   * Server-sent events: each stage of the checkout as it happens; the stream ends with the checkout.
   * An unknown workflow id is a 404 (openStream$ rejects before the event stream starts).
   */
  @Sse(':workflowId/progress')
  async progress(@Param('workflowId') workflowId: string): Promise<Observable<MessageEvent>> {
    const progress$ = await this.client.openStream$<CheckoutProgress>(workflowId, PROGRESS_STREAM);
    return progress$.pipe(map((data) => ({ data })));
  }

  @Get(':workflowId')
  async getOrder(@Param('workflowId') workflowId: string): Promise<OrderStatusView> {
    const handle = this.client.retrieve<Receipt>(workflowId);
    const info = await handle.getStatus();
    if (!info) throw new NotFoundException(`No order has the workflow id "${workflowId}".`);
    const view: OrderStatusView = { workflowId, status: info.status };
    if (info.status === WorkflowStatus.SUCCESS) view.result = await handle.getResult();
    else if (info.error) view.error = { name: info.error.name, message: info.error.message };
    return view;
  }
}
