import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, DbosDatabaseUnavailableError, Transaction, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { FaultProxy } from '../support/fault-proxy';
import { waitFor } from '../support/wait';

const schema = uniqueSchema('txpart');

/** Resolved by the test once the connection the transaction holds is dead. */
let partitioned: Promise<void> = Promise.resolve();

@Injectable()
class Writer {
  constructor(private readonly dbos: DbosContext) {}

  /** Holds its connection across a partition: its second query goes into a dead socket the first time. */
  @Transaction() async write(): Promise<string> {
    const manager = this.dbos.entityManager;
    await manager.query(`INSERT INTO "${schema}".effects (workflow_id) VALUES ($1)`, [this.dbos.workflowId]);
    await partitioned;
    await manager.query('SELECT 1');
    return 'written';
  }

  @Workflow() async run(): Promise<string> {
    return this.write();
  }
}

describe('a partition under a @Transaction on the pool the module opened', () => {
  let proxy: FaultProxy;
  let app: INestApplicationContext;
  beforeAll(async () => {
    const target = new URL(databaseUrl());
    proxy = await FaultProxy.start({ target: { host: target.hostname, port: Number(target.port || 5432) } });
    await sql(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await sql(`CREATE TABLE "${schema}".effects (workflow_id text)`);
    app = await createDbosApp([Writer], { schema, database: { url: proxy.url(databaseUrl()), statementTimeoutMs: 1_000 } });
  });
  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await dropSchema(schema);
  });

  it('a query on a connection left dead by the partition fails at the statement deadline, and the workflow replays and finishes', async () => {
    // A socket that stays open and silent (the proxy's kernel answers keepalives) is what a
    // partition leaves behind; without a client deadline on the @Transaction pool this query
    // waited forever and the workflow never finished, on a live executor that never recovers it.
    let releaseBody!: () => void;
    partitioned = new Promise((resolve) => (releaseBody = resolve));
    const handle = await app.get(WorkflowClient).start(Writer, { workflowId: 'tx-across-partition' }).run();
    await waitForEffect('tx-across-partition');
    proxy.blackhole();
    proxy.heal(); // new connections work again; every one open during the blackhole stays dead
    releaseBody();
    await expect(handle.getResult({ timeoutMs: 60_000 })).resolves.toBe('written');
    // The first attempt's INSERT never committed (its transaction died with the connection).
    expect(await sql(`SELECT count(*)::int AS n FROM "${schema}".effects WHERE workflow_id = 'tx-across-partition'`)).toEqual([{ n: 1 }]);
  }, 90_000);

  it('leaves no dead connection in the pool: after a partition while its connections sat idle, each @Transaction workflow finishes at once', async () => {
    // Connections idle in the pool during a partition are dead after it, and the server never
    // closes them (an idle session has no timeout). A client whose query passed its deadline must
    // be closed, not handed back as healthy (which the ORM does): handed back, every transaction
    // that takes it from the pool (last in, first out) waits out the deadline again at BEGIN and
    // at ROLLBACK, pauses, replays and takes it again; a workflow stuck PENDING on a live executor.
    const client = app.get(WorkflowClient);
    const warm = await Promise.all([0, 1, 2].map((i) => client.start(Writer, { workflowId: `tx-warm-${i}` }).run()));
    for (const handle of warm) await expect(handle.getResult()).resolves.toBe('written');
    proxy.blackhole();
    proxy.heal();
    // The module's own pools discard their dead clients on the first failure: the start is retried as a caller would (503).
    const start = async (workflowId: string) => {
      for (;;) {
        const handle = await client
          .start(Writer, { workflowId })
          .run()
          .catch((err: unknown) => {
            if (err instanceof DbosDatabaseUnavailableError) return undefined;
            throw err;
          });
        if (handle) return handle;
      }
    };
    const slow: string[] = [];
    for (let i = 0; i < 4; i++) {
      const handle = await start(`tx-after-partition-${i}`);
      const started = Date.now();
      await expect(handle.getResult({ timeoutMs: 60_000 })).resolves.toBe('written');
      if (Date.now() - started > 20_000) slow.push(`workflow ${i}: ${Date.now() - started} ms`);
    }
    expect(slow).toEqual([]);
  }, 300_000);
});

/** Until the transaction's INSERT ran and it holds its connection, idle in the transaction. */
function waitForEffect(workflowId: string): Promise<void> {
  return waitFor(
    async () =>
      (
        await sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'idle in transaction' AND query LIKE $1`, [
          `%"${schema}".effects%`,
        ])
      )[0].n > 0,
    { what: `the transaction of ${workflowId} to hold its connection`, timeoutMs: 20_000 },
  );
}
