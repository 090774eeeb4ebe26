import type { IsolationLevel } from './workflow-options.interface';

/** How one `@Transaction` is opened. */
export interface AdapterTransactionOptions {
  /** Absent: the database's default (READ COMMITTED on Postgres). */
  isolationLevel?: IsolationLevel;
}

/**
 * Where `@Transaction` methods run: one ORM's (or driver's) transactions on the database that
 * holds the system schema. The method's writes and its checkpoint go through the same
 * transaction object, so they commit together or not at all. Built by `typeOrmTransactions`,
 * `knexTransactions`, `drizzleTransactions`, `mikroOrmTransactions` or `prismaTransactions`;
 * any other ORM fits by implementing these three members.
 *
 * `Tx` is what the ORM hands to a transaction's callback (a `Knex.Transaction`, a Prisma
 * transaction client...): the method reads it with `dbos.tx<Tx>()`.
 */
export interface TransactionAdapter<Tx = unknown> {
  /** The ORM's name, in logs and errors (`knex`, `prisma`...). */
  readonly name: string;
  /** Runs `work` in one new transaction (never a nested one) and commits when it resolves; rolls back when it throws. */
  transaction<T>(work: (tx: Tx) => Promise<T>, options: AdapterTransactionOptions): Promise<T>;
  /** One statement inside `tx`, with `$1`, `$2`... placeholders: its rows. */
  query<R = Record<string, unknown>>(tx: Tx, text: string, values?: unknown[]): Promise<R[]>;
  /** Called after the method returned, before the checkpoint is written (an ORM with a unit of work flushes it here). */
  beforeCheckpoint?(tx: Tx): Promise<void>;
  /** Where it connects, for error messages (never a password). */
  describe(): string;
}
