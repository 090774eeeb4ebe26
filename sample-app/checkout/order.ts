/** How the customer pays: a card is authorized at once; a bank transfer is confirmed later by the payment provider. */
export type PaymentMethod = 'card' | 'bank-transfer';

/** An order as the shop takes it. */
export interface Order {
  orderId: string;
  sku: string;
  quantity: number;
  /** Default 'card'. */
  payment?: PaymentMethod;
}

/** What a completed checkout returns. */
export interface Receipt {
  orderId: string;
  sku: string;
  quantity: number;
  paymentId: string;
  trackingNumber: string;
  /** Units of the sku left once this order was taken. */
  remainingStock: number;
}

/** A checkout's progress, streamed to browsers while it runs (`GET /orders/:workflowId/progress`). */
export interface CheckoutProgress {
  stage: 'payment-validated' | 'awaiting-payment-confirmation' | 'payment-confirmed' | 'inventory-reserved' | 'shipped' | 'customer-notified';
  detail?: string;
}
