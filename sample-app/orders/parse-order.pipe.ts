import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import type { Order } from '../checkout/order';

/** Checks a POST /orders body; a 400 lists every problem, as Nest's ValidationPipe does. */
@Injectable()
export class ParseOrderPipe implements PipeTransform<unknown, Order> {
  transform(body: unknown): Order {
    const { orderId, sku, quantity } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const problems: string[] = [];
    if (!isNonEmptyString(orderId)) problems.push('orderId must be a non-empty string');
    if (!isNonEmptyString(sku)) problems.push('sku must be a non-empty string');
    if (!Number.isSafeInteger(quantity) || (quantity as number) <= 0) problems.push('quantity must be a positive integer');
    if (problems.length > 0) throw new BadRequestException(problems);
    return { orderId: orderId as string, sku: sku as string, quantity: quantity as number };
  }
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}
