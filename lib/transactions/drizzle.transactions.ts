import type { TransactionAdapter } from '../interfaces/transaction-adapter.interface';
import { lowerCase, nullForUndefined, rowsOf } from './adapter.util';

/**
 * What the Drizzle adapter calls on a transaction (`PgTransaction`): its session's
 * `prepareQuery`, which runs a statement with `$1` placeholders on the transaction's connection.
 */
export interface DrizzleTransactionLike {
  readonly _: {
    readonly session: {
      prepareQuery(
        query: { sql: string; params: unknown[] },
        fields: undefined,
        name: undefined,
        isResponseInArrayMode: boolean,
      ): { execute(): Promise<unknown> };
    };
  };
}

/** What the Drizzle adapter calls on the app's database (`drizzle(pool)` of `drizzle-orm/node-postgres`). */
export interface DrizzleLike {
  transaction<T>(
    work: (tx: DrizzleTransactionLike) => Promise<T>,
    config?: { isolationLevel?: 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable' },
  ): Promise<T>;
}

/** `@Transaction` on the app's Drizzle database (node-postgres driver): `dbos.tx<typeof db>()` or the transaction type the app names. */
export function drizzleTransactions(db: DrizzleLike): TransactionAdapter<DrizzleTransactionLike> {
  return {
    name: 'drizzle',
    transaction: (work, { isolationLevel }) => db.transaction(work, isolationLevel ? { isolationLevel: lowerCase(isolationLevel) } : undefined),
    query: async (tx, text, values) =>
      rowsOf(await tx._.session.prepareQuery({ sql: text, params: nullForUndefined(values) }, undefined, undefined, false).execute()),
    describe: () => 'drizzle',
  };
}
