import { SetMetadata } from '@nestjs/common';
import { TRANSACTION_METADATA } from '../dbos.constants';
import type { TransactionDecoratorOptions } from '../interfaces/workflow-options.interface';

/** Marks a provider method as a database transaction whose checkpoint commits with it. */
export const Transaction = (options: TransactionDecoratorOptions = {}): MethodDecorator => SetMetadata(TRANSACTION_METADATA, options);
