import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, Transaction, Workflow, WorkflowClient } from '../../lib';
import type { DbosDatabase } from '../../lib/dbos.database';
import { DBOS_SYSTEM_DATABASE } from '../../lib/dbos.constants';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';

const POOL_SIZE = 2;
const schema = uniqueSchema('pool');
/** Marks the transactions' connections in pg_stat_activity. */
const TAG = `pool-exhaustion ${schema}`;

/** Resolves to what `work` gives, or to 'timed out' after `ms`: a wedged process fails the test instead of hanging it. */
function within<T>(ms: number, work: Promise<T>): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

@Injectable()
class Relay {
  /** Transactions that entered their body. */
  static entered = 0;

  constructor(private readonly dbos: DbosContext) {}

  /**
   * Holds its transaction's connection until as many transactions as the pool has connections
   * have entered (bounded), so that they are open at once; then sends a message and writes a
   * stream: module work inside an app transaction.
   */
  @Transaction()
  async forward(destinationId: string, message: string): Promise<string> {
    Relay.entered++;
    await this.dbos.entityManager.query(`SELECT '${TAG}' AS tag`);
    const until = Date.now() + 5_000;
    while (Relay.entered < POOL_SIZE && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    await this.dbos.send(destinationId, message, 'relayed');
    await this.dbos.writeStream('relayed', message);
    return message;
  }

  @Workflow() async relay(destinationId: string, message: string): Promise<string> {
    return this.forward(destinationId, message);
  }

  @Workflow() async collect(count: number): Promise<unknown[]> {
    const received: unknown[] = [];
    for (let i = 0; i < count; i++) received.push(await this.dbos.recv('relayed', { timeoutMs: 30_000 }));
    return received;
  }
}

describe('@Transaction with a database URL', () => {
  let app: INestApplicationContext | undefined;

  beforeAll(async () => {
    app = await createDbosApp([Relay], { schema, database: { url: databaseUrl(), poolSize: POOL_SIZE }, executorId: 'pool-exec', applicationVersion: 'v1' });
  });
  afterAll(async () => {
    const closing = app?.close();
    // A wedged pool (the failure this suite is about): end the transactions that hold it, again
    // as queued ones take the freed connections, so that the app closes and the run ends.
    for (let round = 0; closing && round < 30 && (await within(1_000, closing)) === 'timed out'; round++) {
      await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, [TAG]);
    }
    await dropSchema(schema);
  });

  it(`runs on a pool of its own: ${POOL_SIZE * 2} transactions that send and write streams at once on a pool of ${POOL_SIZE} all complete`, async () => {
    const client = app!.get(WorkflowClient);
    const messages = Array.from({ length: POOL_SIZE * 2 }, (_, i) => `m${i}`);
    const outcome = await within(
      20_000,
      (async () => {
        const collector = await client.start(Relay).collect(messages.length);
        const relays = await Promise.all(messages.map((message) => client.start(Relay).relay(collector.workflowId, message)));
        const results = await Promise.all(relays.map((handle) => handle.getResult({ timeoutMs: 30_000 })));
        const received = (await collector.getResult({ timeoutMs: 30_000 })) as string[];
        const streamed: unknown[] = [];
        for (const handle of relays) for await (const value of client.readStream(handle.workflowId, 'relayed')) streamed.push(value);
        return { results, received: [...received].sort(), streamed };
      })(),
    );
    expect(outcome).toEqual({ results: messages, received: messages, streamed: messages });
  });

  it('the transaction pool is separate from the system pool, the same size, and closed with the module', async () => {
    const database = app!.get<DbosDatabase>(DBOS_SYSTEM_DATABASE);
    const { system } = database;
    const transactionDataSource = database.transactionDataSource!;
    expect(transactionDataSource === system.dataSource).toBe(false);
    expect(transactionDataSource.isInitialized).toBe(true);
    expect((transactionDataSource.options.extra as { max?: number }).max).toBe(POOL_SIZE);
    await app!.close();
    app = undefined;
    expect(transactionDataSource.isInitialized).toBe(false);
    expect(system.dataSource.isInitialized).toBe(false);
  });
});
