import type { TransactionAdapter } from '../interfaces/transaction-adapter.interface';
import { lowerCase, toQuestionMarks } from './adapter.util';

/** What the MikroORM adapter calls on the transaction's EntityManager (`@mikro-orm/postgresql`). */
export interface MikroOrmEntityManagerLike {
  execute(sql: string, params?: unknown[], method?: 'all'): Promise<unknown>;
  flush(): Promise<void>;
}

/** The EntityManager the adapter opens transactions on: `orm.em` (each transaction forks it). */
export interface MikroOrmTransactionalLike {
  transactional<T>(work: (em: MikroOrmEntityManagerLike) => Promise<T>, options?: { isolationLevel?: string; propagation?: string }): Promise<T>;
}

/**
 * `@Transaction` on the app's MikroORM (`MikroORM` or its `orm.em`): `dbos.tx<EntityManager>()`,
 * a fork in the transaction. What the method persists is flushed before the checkpoint is written,
 * so both commit together.
 */
export function mikroOrmTransactions(orm: MikroOrmTransactionalLike | { em: MikroOrmTransactionalLike }): TransactionAdapter<MikroOrmEntityManagerLike> {
  const em = 'transactional' in orm ? orm : orm.em;
  return {
    name: 'mikro-orm',
    // requires_new: a transaction of its own even where the caller's context has one open.
    transaction: (work, { isolationLevel }) =>
      em.transactional(work, { propagation: 'requires_new', ...(isolationLevel && { isolationLevel: lowerCase(isolationLevel) }) }),
    query: async (tx, text, values) => {
      const { sql, bindings } = toQuestionMarks(text, values);
      return (await tx.execute(sql, bindings, 'all')) as never[];
    },
    beforeCheckpoint: (tx) => tx.flush(),
    describe: () => 'mikro-orm',
  };
}
