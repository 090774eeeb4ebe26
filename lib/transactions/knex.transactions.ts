import { redactUrl } from '../common/database-target.util';
import type { TransactionAdapter } from '../interfaces/transaction-adapter.interface';
import { lowerCase, rowsOf, toQuestionMarks } from './adapter.util';

/** What the Knex adapter calls on a transaction (`Knex.Transaction`). */
export interface KnexTransactionLike {
  raw(sql: string, bindings: readonly unknown[]): PromiseLike<unknown>;
}

/** What the Knex adapter calls on the app's `Knex` instance (the `pg` client). */
export interface KnexLike {
  transaction<T>(
    work: (trx: KnexTransactionLike) => Promise<T>,
    config?: { isolationLevel?: 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable' },
  ): Promise<T>;
  client?: { config?: { connection?: unknown } };
}

/** `@Transaction` on the app's Knex instance (client `pg`): `dbos.tx<Knex.Transaction>()`. */
export function knexTransactions(knex: KnexLike): TransactionAdapter<KnexTransactionLike> {
  return {
    name: 'knex',
    transaction: (work, { isolationLevel }) => knex.transaction(work, isolationLevel ? { isolationLevel: lowerCase(isolationLevel) } : {}),
    query: async (trx, text, values) => {
      const { sql, bindings } = toQuestionMarks(text, values);
      return rowsOf(await trx.raw(sql, bindings));
    },
    describe: () => {
      const connection = knex.client?.config?.connection;
      return typeof connection === 'string' ? `knex on ${redactUrl(connection)}` : 'knex';
    },
  };
}
