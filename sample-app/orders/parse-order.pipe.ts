import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import type { Order, PaymentMethod } from '../checkout/order';

const PAYMENT_METHODS: readonly unknown[] = ['card', 'bank-transfer'] satisfies PaymentMethod[];

/** Checks a POST /orders body; a 400 lists every problem, as Nest's ValidationPipe does. */
@Injectable()
export class ParseOrderPipe implements PipeTransform<unknown, Order> {
  transform(body: unknown): Order {
    const { orderId, sku, quantity, payment } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const problems: string[] = [];
    if (!isNonEmptyString(orderId)) problems.push('orderId must be a non-empty string');
    if (!isNonEmptyString(sku)) problems.push('sku must be a non-empty string');
    if (!Number.isSafeInteger(quantity) || (quantity as number) <= 0) problems.push('quantity must be a positive integer');
    if (payment !== undefined && !PAYMENT_METHODS.includes(payment)) problems.push(`payment must be one of ${PAYMENT_METHODS.join(', ')}`);
    if (problems.length > 0) throw new BadRequestException(problems);
    const order: Order = { orderId: orderId as string, sku: sku as string, quantity: quantity as number };
    return payment === undefined ? order : { ...order, payment: payment as PaymentMethod };
  }
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}
