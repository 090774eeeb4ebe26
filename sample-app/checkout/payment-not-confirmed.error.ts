/** A bank transfer the payment provider did not confirm in time: the order was cancelled, nothing shipped. */
export class PaymentNotConfirmedError extends Error {
  override readonly name = 'PaymentNotConfirmedError';

  constructor(
    readonly paymentId: string,
    readonly waitedHours: number,
  ) {
    super(`Payment ${paymentId} was not confirmed within ${waitedHours} hours; the order is cancelled.`);
  }
}
