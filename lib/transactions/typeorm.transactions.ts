import type { DataSource, EntityManager } from 'typeorm';
import { describeTarget } from '../common/database-target.util';
import type { TransactionAdapter } from '../interfaces/transaction-adapter.interface';

/** `@Transaction` on a TypeORM DataSource (the default: the app's `database.dataSource`, or the pool the module opens). `dbos.tx<EntityManager>()`. */
export function typeOrmTransactions(dataSource: DataSource): TransactionAdapter<EntityManager> {
  return {
    name: 'typeorm',
    transaction: (work, { isolationLevel }) => (isolationLevel ? dataSource.transaction(isolationLevel, work) : dataSource.transaction(work)),
    query: async (tx, text, values) => (await tx.query(text, values)) as never[],
    describe: () => describeTarget({ dataSource }),
  };
}
