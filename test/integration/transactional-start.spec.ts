import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { DbosConfigurationError, DbosContext, DbosConflictError, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

@Injectable()
class Fulfilment {
  static runs = new Map<string, number>();

  constructor(private readonly dbos: DbosContext) {}

  @Workflow() async ship(orderId: string): Promise<string> {
    Fulfilment.runs.set(this.dbos.workflowId!, (Fulfilment.runs.get(this.dbos.workflowId!) ?? 0) + 1);
    return `shipped ${orderId}`;
  }

  @Workflow() async awaitPayment(): Promise<unknown> {
    return this.dbos.recv('payment', { timeoutMs: 30_000 });
  }
}

const runsOf = (workflowId: string) => Fulfilment.runs.get(workflowId) ?? 0;

describe("writes in the app's TypeORM transaction (entityManager)", () => {
  const schema = uniqueSchema('txstart');
  const appSchema = uniqueSchema('txstart_app');
  let app: INestApplicationContext;
  let client: WorkflowClient;
  let dataSource: DataSource;

  const orderExists = async (orderId: string) => (await sql(`SELECT 1 FROM "${appSchema}".orders WHERE id = $1`, [orderId])).length > 0;
  const placeOrder = (em: EntityManager, orderId: string) => em.query(`INSERT INTO "${appSchema}".orders (id) VALUES ($1)`, [orderId]);
  const messagesTo = async (workflowId: string) =>
    (await sql<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".notifications WHERE destination_id = $1`, [workflowId]))[0].n;

  /** A transaction held open by the test: `commit()` / `rollback()` end it. */
  const openTransaction = async () => {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    return {
      em: runner.manager,
      commit: async () => {
        await runner.commitTransaction();
        await runner.release();
      },
      rollback: async () => {
        await runner.rollbackTransaction();
        await runner.release();
      },
    };
  };

  beforeAll(async () => {
    await sql(`CREATE SCHEMA "${appSchema}"; CREATE TABLE "${appSchema}".orders (id text PRIMARY KEY)`);
    dataSource = await new DataSource({ type: 'postgres', url: databaseUrl(), poolSize: 4 }).initialize();
    app = await createDbosApp([Fulfilment], { schema, queues: [{ name: 'tx-orders' }], applicationVersion: 'txstart-v1', executorId: 'txstart' });
    client = app.get(WorkflowClient);
  });

  afterAll(async () => {
    await app.close();
    await dataSource.destroy();
    await dropSchema(schema);
    await dropSchema(appSchema);
  });

  it('a rolled-back transaction leaves no workflow (start, enqueue) and no message (send)', async () => {
    const waiting = await client.start(Fulfilment, { workflowId: 'rb-recipient' }).awaitPayment();
    const failure = await dataSource
      .transaction(async (em) => {
        await placeOrder(em, 'rb-1');
        await client.start(Fulfilment, { workflowId: 'rb-start', entityManager: em }).ship('rb-1');
        await client.enqueue({ workflowName: 'Fulfilment.ship', queue: 'tx-orders', workflowId: 'rb-enqueue', entityManager: em }, 'rb-1');
        await client.send('rb-recipient', { paid: 1 }, 'payment', { entityManager: em });
        throw new Error('the app changed its mind');
      })
      .catch((err: Error) => err);
    expect(failure).toEqual(new Error('the app changed its mind'));
    expect(await orderExists('rb-1')).toBe(false);
    expect(await client.getStatus('rb-start')).toBeNull();
    expect(await client.getStatus('rb-enqueue')).toBeNull();
    expect(await messagesTo('rb-recipient')).toBe('0');
    await quietPeriod(500, 'a run of a rolled-back start');
    expect(runsOf('rb-start') + runsOf('rb-enqueue')).toBe(0);
    expect((await waiting.getStatus())?.status).toBe('PENDING');
    await client.cancel('rb-recipient');
  });

  it('a committed start runs exactly once, and not before the commit', async () => {
    const tx = await openTransaction();
    await placeOrder(tx.em, 'c-1');
    const handle = await client.start(Fulfilment, { workflowId: 'c-start', entityManager: tx.em, attributes: { orderId: 'c-1' } }).ship('c-1');
    expect(handle.workflowId).toBe('c-start');
    await quietPeriod(500, 'a run before the commit');
    expect(runsOf('c-start')).toBe(0);
    expect(await client.getStatus('c-start')).toBeNull(); // not visible outside the app's transaction
    await tx.commit();
    expect(await handle.getResult({ timeoutMs: 10_000 })).toBe('shipped c-1');
    expect(await orderExists('c-1')).toBe(true);
    expect(await client.getStatus('c-start')).toMatchObject({ status: 'SUCCESS', attributes: { orderId: 'c-1' } });
    await quietPeriod(300, 'a second run');
    expect(runsOf('c-start')).toBe(1);
  });

  it('a committed enqueue by name runs once on its queue after the commit', async () => {
    const tx = await openTransaction();
    const handle = await client.enqueue({ workflowName: 'Fulfilment.ship', queue: 'tx-orders', workflowId: 'c-enqueue', entityManager: tx.em }, 'c-2');
    await quietPeriod(400, 'a run before the commit');
    expect(runsOf('c-enqueue')).toBe(0);
    await tx.commit();
    expect(await handle.getResult({ timeoutMs: 10_000 })).toBe('shipped c-2');
    expect((await handle.getStatus())?.queue).toBe('tx-orders');
    expect(runsOf('c-enqueue')).toBe(1);
  });

  it('a message sent in a transaction is delivered at its commit', async () => {
    const waiting = await client.start(Fulfilment, { workflowId: 'c-recipient' }).awaitPayment();
    const tx = await openTransaction();
    await client.send('c-recipient', { paid: 42 }, 'payment', { entityManager: tx.em, idempotencyKey: 'pay-42' });
    await quietPeriod(400, 'a delivery before the commit');
    expect((await waiting.getStatus())?.status).toBe('PENDING');
    expect(await messagesTo('c-recipient')).toBe('0');
    await tx.commit();
    expect(await waiting.getResult({ timeoutMs: 10_000 })).toEqual({ paid: 42 });
  });

  it('starting one id twice is idempotent, in one transaction and after a commit', async () => {
    const handles = await dataSource.transaction(async (em) => [
      await client.start(Fulfilment, { workflowId: 'idem', entityManager: em }).ship('i-1'),
      await client.start(Fulfilment, { workflowId: 'idem', entityManager: em }).ship('i-1'),
    ]);
    expect(handles.map((h) => h.workflowId)).toEqual(['idem', 'idem']);
    expect(await handles[0].getResult({ timeoutMs: 10_000 })).toBe('shipped i-1');
    const again = await dataSource.transaction((em) => client.start(Fulfilment, { workflowId: 'idem', entityManager: em }).ship('i-1'));
    expect(await again.getResult()).toBe('shipped i-1');
    const direct = await client.start(Fulfilment, { workflowId: 'idem' }).ship('i-1');
    expect(await direct.getResult()).toBe('shipped i-1');
    await quietPeriod(300, 'a second run');
    expect(runsOf('idem')).toBe(1);
    await expect(
      dataSource.transaction((em) => client.enqueue({ workflowName: 'Fulfilment.awaitPayment', queue: 'tx-orders', workflowId: 'idem', entityManager: em })),
    ).rejects.toThrow(DbosConflictError);
  });

  it('refuses an entityManager that is not in a transaction, writing nothing', async () => {
    const start = client.start(Fulfilment, { workflowId: 'no-tx', entityManager: dataSource.manager }).ship('n-1');
    await expect(start).rejects.toThrow(DbosConfigurationError);
    await expect(client.start(Fulfilment, { workflowId: 'no-tx', entityManager: dataSource.manager }).ship('n-1')).rejects.toThrow(
      /start\(\) was given an entityManager that is not in a transaction/,
    );
    await expect(client.send('c-recipient', 'x', 'payment', { entityManager: dataSource.manager })).rejects.toThrow(/send\(\) .* not in a transaction/);
    expect(await client.getStatus('no-tx')).toBeNull();
  });

  it('refuses an entityManager on another database (start, enqueue, send), saying which databases differ, writing nothing', async () => {
    const otherName = `dbos_stray_${Math.random().toString(36).slice(2, 10)}`;
    await sql(`CREATE DATABASE ${otherName}`);
    const other = new URL(databaseUrl());
    other.pathname = `/${otherName}`;
    const stray = await new DataSource({ type: 'postgres', url: other.toString(), poolSize: 1 }).initialize();
    const recipient = await client.start(Fulfilment, { workflowId: 'stray-recipient' }).awaitPayment();
    try {
      const calls: [string, (em: EntityManager) => Promise<unknown>][] = [
        ['start', (em) => client.start(Fulfilment, { workflowId: 'stray-start', entityManager: em }).ship('s-1')],
        ['enqueue', (em) => client.enqueue({ workflowName: 'Fulfilment.ship', queue: 'tx-orders', workflowId: 'stray', entityManager: em }, 's-1')],
        ['send', (em) => client.send('stray-recipient', { paid: 1 }, 'payment', { entityManager: em })],
      ];
      for (const [operation, call] of calls) {
        const failure = await stray.transaction(call).catch((err: unknown) => err);
        expect(failure).toBeInstanceOf(DbosConfigurationError);
        expect((failure as Error).message).toMatch(
          new RegExp(
            `^${operation}\\(\\) was given an entityManager connected to ${otherName} .*, but the system database is \\S+ .*same database as database.url`,
          ),
        );
      }
      expect(await client.getStatus('stray-start')).toBeNull();
      expect(await client.getStatus('stray')).toBeNull();
      expect(await messagesTo('stray-recipient')).toBe('0');
      expect((await recipient.getStatus())?.status).toBe('PENDING');
    } finally {
      await client.cancel('stray-recipient');
      await stray.destroy();
      await sql(`DROP DATABASE IF EXISTS ${otherName}`);
    }
  });

  it('a committed start is claimed at once: the queue NOTIFY is delivered at the commit', async () => {
    const tx = await openTransaction();
    const handle = await client.start(Fulfilment, { workflowId: 'prompt', entityManager: tx.em }).ship('p-1');
    await tx.commit();
    const committedAt = Date.now();
    await waitFor(() => runsOf('prompt') === 1, { what: 'the committed start to run', timeoutMs: 10_000 });
    // Generous: a poll-only dispatcher would take its poll interval; a woken one takes milliseconds.
    expect(Date.now() - committedAt).toBeLessThan(2_000);
    expect(await handle.getResult()).toBe('shipped p-1');
  });
});
