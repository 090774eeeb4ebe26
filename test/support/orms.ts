import { EntitySchema, MikroORM } from '@mikro-orm/postgresql';
import { integer, pgSchema, serial, text } from 'drizzle-orm/pg-core';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import knexFactory, { type Knex } from 'knex';
import { Pool } from 'pg';
import { drizzleTransactions, knexTransactions, mikroOrmTransactions, type TransactionAdapter } from '../../lib';
import type { EntityManager as MikroEntityManager } from '@mikro-orm/postgresql';

/**
 * The app's table `<schema>.ledger (id serial, account text, amount int)` written through one ORM,
 * each in its own idiom, on the transaction object `dbos.tx()` hands the method.
 */
export interface OrmCase {
  name: string;
  transactions: TransactionAdapter;
  /** Adds a ledger row through the ORM's own API (for MikroORM: persisted, flushed by the module before the checkpoint). */
  credit(tx: unknown, account: string, amount: number): Promise<void>;
  /** The transaction's id (`txid_current()`, as a 32-bit xid) through the ORM's raw API. */
  xid(tx: unknown): Promise<string>;
  /** True when `tx` is the ORM's own transaction object. */
  isOwnTx(tx: unknown): boolean;
  close(): Promise<void>;
}

export type OrmName = 'knex' | 'drizzle' | 'mikro-orm';
export const ORM_NAMES: OrmName[] = ['knex', 'drizzle', 'mikro-orm'];

const XID = `SELECT (txid_current() % 4294967296)::text AS xid`;

export async function openOrm(name: OrmName, url: string, appSchema: string): Promise<OrmCase> {
  if (name === 'knex') {
    const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 4 } });
    return {
      name,
      transactions: knexTransactions(knex),
      credit: async (tx, account, amount) => {
        await (tx as Knex.Transaction).withSchema(appSchema).table('ledger').insert({ account, amount });
      },
      xid: async (tx) => ((await (tx as Knex.Transaction).raw(XID)) as { rows: { xid: string }[] }).rows[0].xid,
      isOwnTx: (tx) => (tx as Knex.Transaction).isTransaction === true,
      close: () => knex.destroy(),
    };
  }
  if (name === 'drizzle') {
    const pool = new Pool({ connectionString: url, max: 4 });
    const ledger = pgSchema(appSchema).table('ledger', {
      id: serial('id').primaryKey(),
      account: text('account').notNull(),
      amount: integer('amount').notNull(),
    });
    const db = drizzle(pool);
    type Tx = Parameters<Parameters<NodePgDatabase['transaction']>[0]>[0];
    return {
      name,
      transactions: drizzleTransactions(db),
      credit: async (tx, account, amount) => {
        await (tx as Tx).insert(ledger).values({ account, amount });
      },
      xid: async (tx) => ((await (tx as Tx).execute(XID)).rows[0] as { xid: string }).xid,
      isOwnTx: (tx) => typeof (tx as Tx).rollback === 'function' && typeof (tx as Tx).insert === 'function',
      close: () => pool.end(),
    };
  }
  const Ledger = new EntitySchema<{ id: number; account: string; amount: number }>({
    name: 'Ledger',
    tableName: 'ledger',
    schema: appSchema,
    properties: { id: { type: 'number', primary: true, autoincrement: true }, account: { type: 'string' }, amount: { type: 'number' } },
  });
  const orm = await MikroORM.init({ clientUrl: url, entities: [Ledger], pool: { min: 0, max: 4 }, allowGlobalContext: false, debug: false });
  return {
    name,
    transactions: mikroOrmTransactions(orm),
    credit: async (tx, account, amount) => {
      (tx as MikroEntityManager).persist((tx as MikroEntityManager).create(Ledger, { account, amount }));
    },
    xid: async (tx) => ((await (tx as MikroEntityManager).execute(XID)) as { xid: string }[])[0].xid,
    isOwnTx: (tx) => typeof (tx as MikroEntityManager).persist === 'function' && (tx as MikroEntityManager).isInTransaction(),
    close: () => orm.close(true),
  };
}
