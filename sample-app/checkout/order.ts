/** An order as the shop takes it. */
export interface Order {
  orderId: string;
  sku: string;
  quantity: number;
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
