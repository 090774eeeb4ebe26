import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosConfigurationError, DbosContext, RecoveryService, Transaction, Workflow, WorkflowClient } from '../../lib';
import { serialize } from '../../lib/serialization/value.codec';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { ORM_NAMES, openOrm, type OrmCase } from '../support/orms';

const appSchema = uniqueSchema('orm_app');
let orm: OrmCase;

@Injectable()
class OrmLedger {
  static runs = 0;

  constructor(private readonly dbos: DbosContext) {}

  @Transaction()
  async credit(account: string, amount: number): Promise<{ xid: string; ownTx: boolean }> {
    OrmLedger.runs++;
    const tx = this.dbos.tx();
    await orm.credit(tx, account, amount);
    return { xid: await orm.xid(tx), ownTx: orm.isOwnTx(tx) };
  }

  @Transaction()
  async creditThenFail(account: string): Promise<void> {
    await orm.credit(this.dbos.tx(), account, 1);
    throw new Error(`refused for ${account}`);
  }

  @Transaction({ isolationLevel: 'SERIALIZABLE' })
  async isolation(): Promise<string> {
    const [row] = await orm.transactions.query<{ transaction_isolation: string }>(this.dbos.tx(), 'SHOW transaction_isolation');
    return row.transaction_isolation;
  }

  @Transaction({ readOnly: true })
  async readOnlyCredit(account: string): Promise<void> {
    await orm.credit(this.dbos.tx(), account, 1);
  }

  @Transaction()
  async entityManager(): Promise<boolean> {
    return this.dbos.entityManager === this.dbos.tx();
  }

  @Workflow() async deposit(account: string, amount: number): Promise<{ xid: string; ownTx: boolean }> {
    return this.credit(account, amount);
  }

  @Workflow() async failing(account: string): Promise<void> {
    await this.creditThenFail(account);
  }

  @Workflow() async serializable(): Promise<string> {
    return this.isolation();
  }

  @Workflow() async readOnlyWrite(account: string): Promise<void> {
    await this.readOnlyCredit(account);
  }

  @Workflow() async typeOrmAccessor(): Promise<boolean> {
    return this.entityManager();
  }
}

describe.each(ORM_NAMES)('@Transaction on %s', (ormName) => {
  const schema = uniqueSchema(`tx_${ormName.replace('-', '_')}`);
  let app: INestApplicationContext | undefined;

  const start = async () => {
    app = await createDbosApp([OrmLedger], { schema, transactions: orm.transactions, executorId: `orm-${ormName}`, applicationVersion: 'v1' });
    return app;
  };
  const ledgerRows = (account: string) => sql<{ amount: number }>(`SELECT amount FROM "${appSchema}".ledger WHERE account = $1`, [account]);

  beforeAll(async () => {
    await sql(
      `CREATE SCHEMA IF NOT EXISTS "${appSchema}"; CREATE TABLE IF NOT EXISTS "${appSchema}".ledger (id serial PRIMARY KEY, account text NOT NULL, amount int NOT NULL)`,
    );
    orm = await openOrm(ormName, databaseUrl(), appSchema);
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(async () => {
    await orm.close();
    await dropSchema(schema);
  });

  it("runs the method in the ORM's own transaction, which also commits the checkpoint", async () => {
    const a = await start();
    const result = await a.get(OrmLedger).deposit(`${ormName}-alice`, 50);
    expect(result.ownTx).toBe(true);
    expect(await ledgerRows(`${ormName}-alice`)).toEqual([{ amount: 50 }]);
    const [workflow] = await a.get(WorkflowClient).list({ workflowName: 'OrmLedger.deposit' });
    const steps = await a.get(WorkflowClient).listSteps(workflow.workflowId);
    expect(steps.map((s) => [s.name, s.output])).toEqual([['OrmLedger.credit', result]]);
    // The same transaction wrote the app's row and the checkpoint: both carry its id.
    const [checkpoint] = await sql<{ xmin: string }>(`SELECT xmin::text FROM "${schema}".operation_outputs WHERE workflow_id = $1`, [workflow.workflowId]);
    const [row] = await sql<{ xmin: string }>(`SELECT xmin::text FROM "${appSchema}".ledger WHERE account = $1`, [`${ormName}-alice`]);
    expect(checkpoint.xmin).toBe(result.xid);
    expect(row.xmin).toBe(result.xid);
  });

  it('rolls back the writes of a failing method and records its error', async () => {
    const a = await start();
    await expect(a.get(OrmLedger).failing(`${ormName}-bob`)).rejects.toThrow(`refused for ${ormName}-bob`);
    expect(await ledgerRows(`${ormName}-bob`)).toEqual([]);
    const [workflow] = await a.get(WorkflowClient).list({ workflowName: 'OrmLedger.failing' });
    expect(workflow.status).toBe('ERROR');
    const steps = await a.get(WorkflowClient).listSteps(workflow.workflowId);
    expect(steps[0].error).toMatchObject({ message: `refused for ${ormName}-bob` });
  });

  it('a replayed transaction returns its checkpoint and does not run again', async () => {
    await (await start()).close();
    app = undefined;
    const now = Date.now();
    const id = `${ormName}-replay`;
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, inputs, executor_id, application_version, created_at, updated_at)
       VALUES ($1, 'PENDING', 'OrmLedger.deposit', $2, $3, 'v1', $4, $4)`,
      [id, serialize([id, 5]), `orm-${ormName}`, now],
    );
    await sql(
      `INSERT INTO "${schema}".operation_outputs (workflow_id, step_id, step_name, output, started_at, completed_at) VALUES ($1, 0, 'OrmLedger.credit', $2, $3, $3)`,
      [id, serialize({ xid: 'recorded', ownTx: true }), now],
    );
    OrmLedger.runs = 0;
    const a = await start();
    await a.get(RecoveryService).whenRecovered();
    await expect(a.get(WorkflowClient).retrieve(id).getResult({ timeoutMs: 10_000 })).resolves.toEqual({ xid: 'recorded', ownTx: true });
    expect(OrmLedger.runs).toBe(0);
    expect(await ledgerRows(id)).toEqual([]);
  });

  it('applies the isolation level and readOnly', async () => {
    const a = await start();
    await expect(a.get(OrmLedger).serializable()).resolves.toBe('serializable');
    const refused = (await a
      .get(OrmLedger)
      .readOnlyWrite(`${ormName}-ro`)
      .catch((err: unknown) => err)) as Error;
    // Drizzle wraps the driver's error ("Failed query: ...") and keeps it as the cause.
    expect(`${refused.message} ${(refused.cause as Error | undefined)?.message}`).toMatch(/read-only transaction/);
    expect(await ledgerRows(`${ormName}-ro`)).toEqual([]);
  });

  it('outside a workflow the method still runs in a transaction, without a checkpoint', async () => {
    const a = await start();
    await expect(a.get(OrmLedger).credit(`${ormName}-dave`, 3)).resolves.toMatchObject({ ownTx: true });
    expect(await ledgerRows(`${ormName}-dave`)).toEqual([{ amount: 3 }]);
  });

  it('dbos.entityManager is the transaction on TypeORM, and says to use dbos.tx() on another ORM', async () => {
    const a = await start();
    if (ormName === 'typeorm') await expect(a.get(OrmLedger).typeOrmAccessor()).resolves.toBe(true);
    else await expect(a.get(OrmLedger).typeOrmAccessor()).rejects.toThrow(/use dbos\.tx<T>\(\)/);
  });
});

describe('an ORM on another database than the system database', () => {
  it('is refused at startup, saying which databases differ', async () => {
    // A database of its own (the one the tests use may be `postgres` itself, on the embedded server).
    const otherName = `dbos_stray_${Math.random().toString(36).slice(2, 10)}`;
    await sql(`CREATE DATABASE ${otherName}`);
    const other = new URL(databaseUrl());
    other.pathname = `/${otherName}`;
    const stray = await openOrm('knex', other.toString(), 'public');
    const schema = uniqueSchema('tx_stray');
    try {
      const failure = await createDbosApp([], { schema, transactions: stray.transactions }).catch((err: unknown) => err);
      if (!(failure instanceof Error)) await (failure as INestApplicationContext).close();
      expect(failure).toBeInstanceOf(DbosConfigurationError);
      expect((failure as Error).message).toMatch(/The knex client given as `transactions` is connected to dbos_stray_\w+ .* but the system database is \S+ /);
    } finally {
      await stray.close();
      await dropSchema(schema);
      await sql(`DROP DATABASE IF EXISTS ${otherName}`);
    }
  });
});
