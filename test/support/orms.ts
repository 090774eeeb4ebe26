import { EntitySchema, MikroORM } from '@mikro-orm/postgresql';
import { integer, pgSchema, serial, text } from 'drizzle-orm/pg-core';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import knexFactory, { type Knex } from 'knex';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { drizzleTransactions, knexTransactions, mikroOrmTransactions, prismaTransactions, typeOrmTransactions, type TransactionAdapter } from '../../lib';
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

export type OrmName = 'typeorm' | 'knex' | 'drizzle' | 'mikro-orm' | 'prisma';
export const ORM_NAMES: OrmName[] = ['typeorm', 'knex', 'drizzle', 'mikro-orm', 'prisma'];

const XID = `SELECT (txid_current() % 4294967296)::text AS xid`;

export async function openOrm(name: OrmName, url: string, appSchema: string): Promise<OrmCase> {
  if (name === 'prisma') return openPrisma(url, appSchema);
  if (name === 'typeorm') {
    const dataSource = await new DataSource({ type: 'postgres', url, extra: { max: 4 } }).initialize();
    return {
      name,
      transactions: typeOrmTransactions(dataSource),
      credit: async (tx, account, amount) => {
        await (tx as EntityManager).query(`INSERT INTO "${appSchema}".ledger (account, amount) VALUES ($1, $2)`, [account, amount]);
      },
      xid: async (tx) => ((await (tx as EntityManager).query(XID)) as { xid: string }[])[0].xid,
      isOwnTx: (tx) => tx instanceof EntityManager && tx.queryRunner?.isTransactionActive === true,
      close: () => dataSource.destroy(),
    };
  }
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

/** What the specs use of the client generated from test/fixtures/prisma/schema.prisma. */
interface PrismaTx {
  ledger: { create(args: { data: { account: string; amount: number } }): Promise<unknown> };
  $queryRawUnsafe<T>(query: string, ...values: unknown[]): Promise<T>;
}
type PrismaClientClass = new (options: { adapter: PrismaPg }) => PrismaTx & {
  $transaction<T>(work: (tx: PrismaTx) => Promise<T>, options?: object): Promise<T>;
  $disconnect(): Promise<void>;
};

const PRISMA_DIR = path.resolve(__dirname, '..', 'fixtures', 'prisma');

/**
 * `prisma generate` for one schema file. It needs no engine (the client runs on the pg driver
 * adapter), but the CLI looks for the schema engine first and would download it:
 * PRISMA_SCHEMA_ENGINE_BINARY names a stand-in, never run by generate.
 */
export function prismaGenerate(schemaFile: string): void {
  execFileSync(process.execPath, [require.resolve('prisma/build/index.js'), 'generate', '--schema', schemaFile], {
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/true', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    stdio: 'pipe',
  });
}

/** The Prisma client of the specs (test/fixtures/prisma/schema.prisma), generated on first use. */
export function generatedPrismaClient(): PrismaClientClass {
  if (!existsSync(path.join(PRISMA_DIR, 'generated', 'client.ts'))) prismaGenerate(path.join(PRISMA_DIR, 'schema.prisma'));
  return (require(path.join(PRISMA_DIR, 'generated', 'client')) as { PrismaClient: PrismaClientClass }).PrismaClient;
}

function openPrisma(url: string, appSchema: string): OrmCase {
  const PrismaClient = generatedPrismaClient();
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 4 }, { schema: appSchema }) });
  return {
    name: 'prisma',
    transactions: prismaTransactions(prisma),
    credit: async (tx, account, amount) => {
      await (tx as PrismaTx).ledger.create({ data: { account, amount } });
    },
    xid: async (tx) => (await (tx as PrismaTx).$queryRawUnsafe<{ xid: string }[]>(XID))[0].xid,
    // The interactive transaction's client: the models, but not the PrismaClient itself.
    isOwnTx: (tx) => tx !== prisma && typeof (tx as PrismaTx).ledger?.create === 'function',
    close: () => prisma.$disconnect(),
  };
}
