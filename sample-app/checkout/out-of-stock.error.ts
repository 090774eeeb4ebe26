/** The order asks for more units than are in stock; nothing was taken. */
export class OutOfStockError extends Error {
  override readonly name = 'OutOfStockError';

  constructor(
    readonly sku: string,
    readonly requested: number,
    readonly available: number,
  ) {
    super(`Not enough stock of "${sku}": ${requested} requested, ${available} available.`);
  }
}
