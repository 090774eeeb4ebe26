export { typeOrmTransactions } from './typeorm.transactions';
export { knexTransactions, type KnexLike, type KnexTransactionLike } from './knex.transactions';
export { drizzleTransactions, type DrizzleLike, type DrizzleTransactionLike } from './drizzle.transactions';
export { mikroOrmTransactions, type MikroOrmTransactionalLike, type MikroOrmEntityManagerLike } from './mikro-orm.transactions';
export { prismaTransactions, type PrismaLike, type PrismaTransactionLike, type PrismaTransactionsOptions } from './prisma.transactions';
