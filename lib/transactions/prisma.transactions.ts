import type { TransactionAdapter } from '../interfaces/transaction-adapter.interface';
import type { IsolationLevel } from '../interfaces/workflow-options.interface';
import { nullForUndefined } from './adapter.util';

/** What the Prisma adapter calls on an interactive transaction's client (`Prisma.TransactionClient`). */
export interface PrismaTransactionLike {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
}

type PrismaIsolationLevel = 'ReadUncommitted' | 'ReadCommitted' | 'RepeatableRead' | 'Serializable';

/** What the Prisma adapter calls on the app's `PrismaClient`. */
export interface PrismaLike {
  $transaction<T>(
    work: (tx: PrismaTransactionLike) => Promise<T>,
    options?: { isolationLevel?: PrismaIsolationLevel; maxWait?: number; timeout?: number },
  ): Promise<T>;
}

export interface PrismaTransactionsOptions {
  /** Longest wait for a connection, ms (Prisma's `maxWait`). Default Prisma's (2 000). */
  maxWaitMs?: number;
  /** Longest a transaction may stay open before Prisma rolls it back, ms (Prisma's `timeout`). Default Prisma's (5 000). */
  timeoutMs?: number;
}

const PRISMA_LEVELS: Record<IsolationLevel, PrismaIsolationLevel> = {
  'READ UNCOMMITTED': 'ReadUncommitted',
  'READ COMMITTED': 'ReadCommitted',
  'REPEATABLE READ': 'RepeatableRead',
  SERIALIZABLE: 'Serializable',
};

/** `@Transaction` on the app's `PrismaClient` (interactive transactions): `dbos.tx<Prisma.TransactionClient>()`. */
export function prismaTransactions(prisma: PrismaLike, options: PrismaTransactionsOptions = {}): TransactionAdapter<PrismaTransactionLike> {
  return {
    name: 'prisma',
    transaction: (work, { isolationLevel }) =>
      prisma.$transaction(work, {
        ...(isolationLevel && { isolationLevel: PRISMA_LEVELS[isolationLevel] }),
        ...(options.maxWaitMs !== undefined && { maxWait: options.maxWaitMs }),
        ...(options.timeoutMs !== undefined && { timeout: options.timeoutMs }),
      }),
    query: (tx, text, values) => tx.$queryRawUnsafe(text, ...nullForUndefined(values)),
    describe: () => 'prisma',
  };
}
