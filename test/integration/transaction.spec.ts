import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DbosContext, RecoveryService, Transaction, Workflow, WorkflowClient } from '../../lib';
import { serialize } from '../../lib/serialization/value.codec';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';

const appSchema = uniqueSchema('app');

class InsufficientFundsError extends Error {
  override name = 'InsufficientFundsError';
}

@Injectable()
class Ledger {
  static runs = 0;

  constructor(private readonly dbos: DbosContext) {}

  @Transaction()
  async credit(account: string, amount: number): Promise<number> {
    Ledger.runs++;
    const rows: { id: number }[] = await this.dbos.entityManager.query(`INSERT INTO "${appSchema}".ledger (account, amount) VALUES ($1, $2) RETURNING id`, [
      account,
      amount,
    ]);
    return rows[0].id;
  }

  @Transaction()
  async debitOrFail(account: string, amount: number): Promise<void> {
    await this.dbos.entityManager.query(`INSERT INTO "${appSchema}".ledger (account, amount) VALUES ($1, $2)`, [account, -amount]);
    throw new InsufficientFundsError(`cannot debit ${amount} from ${account}`);
  }

  @Transaction({ readOnly: true })
  async balance(account: string): Promise<number> {
    const rows: { total: string | null }[] = await this.dbos.entityManager.query(`SELECT sum(amount) AS total FROM "${appSchema}".ledger WHERE account = $1`, [
      account,
    ]);
    return Number(rows[0].total ?? 0);
  }

  @Transaction({ readOnly: true })
  async writeInReadOnly(): Promise<void> {
    await this.dbos.entityManager.query(`INSERT INTO "${appSchema}".ledger (account, amount) VALUES ('x', 1)`);
  }

  @Transaction({ isolationLevel: 'SERIALIZABLE' })
  async isolation(): Promise<string> {
    const rows: { transaction_isolation: string }[] = await this.dbos.entityManager.query('SHOW transaction_isolation');
    return rows[0].transaction_isolation;
  }

  @Workflow() async deposit(account: string, amount: number): Promise<{ id: number; balance: number }> {
    const id = await this.credit(account, amount);
    return { id, balance: await this.balance(account) };
  }

  @Workflow() async overdraw(account: string): Promise<void> {
    await this.debitOrFail(account, 1_000);
  }

  @Workflow() async readOnlyWrite(): Promise<void> {
    await this.writeInReadOnly();
  }

  @Workflow() async serializable(): Promise<string> {
    return this.isolation();
  }
}

describe('@Transaction on the app DataSource', () => {
  const schema = uniqueSchema('tx');
  let appDataSource: DataSource;
  let app: INestApplicationContext | undefined;

  const start = async () => {
    app = await createDbosApp([Ledger], { schema, database: { dataSource: appDataSource }, executorId: 'tx-exec', applicationVersion: 'v1' });
    return app;
  };
  const ledgerRows = (account: string) => sql<{ amount: number }>(`SELECT amount FROM "${appSchema}".ledger WHERE account = $1`, [account]);

  beforeAll(async () => {
    await sql(`CREATE SCHEMA "${appSchema}"; CREATE TABLE "${appSchema}".ledger (id serial PRIMARY KEY, account text NOT NULL, amount int NOT NULL)`);
    appDataSource = await new DataSource({ type: 'postgres', url: databaseUrl() }).initialize();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(async () => {
    await appDataSource.destroy();
    await dropSchema(schema);
    await dropSchema(appSchema);
  });

  it('runs the method in a transaction whose checkpoint commits with it', async () => {
    const a = await start();
    const result = await a.get(Ledger).deposit('alice', 50);
    expect(result.balance).toBe(50);
    expect(await ledgerRows('alice')).toEqual([{ amount: 50 }]);
    const [workflow] = await a.get(WorkflowClient).list({ workflowName: 'Ledger.deposit' });
    const steps = await a.get(WorkflowClient).listSteps(workflow.workflowId);
    expect(steps.map((s) => [s.name, s.output])).toEqual([
      ['Ledger.credit', result.id],
      ['Ledger.balance', 50],
    ]);
  });

  it('rolls back the writes of a failing transaction and records its error', async () => {
    const a = await start();
    const error = await a
      .get(Ledger)
      .overdraw('bob')
      .catch((e: Error) => e);
    expect((error as Error).name).toBe('InsufficientFundsError');
    expect(await ledgerRows('bob')).toEqual([]);
    const [workflow] = await a.get(WorkflowClient).list({ workflowName: 'Ledger.overdraw' });
    expect(workflow.status).toBe('ERROR');
    const steps = await a.get(WorkflowClient).listSteps(workflow.workflowId);
    expect(steps[0].error).toMatchObject({ name: 'InsufficientFundsError', message: 'cannot debit 1000 from bob' });
  });

  it('a replayed transaction returns its checkpoint and does not run again', async () => {
    (await start()).close();
    app = undefined;
    const now = Date.now();
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, inputs, executor_id, application_version, created_at, updated_at)
       VALUES ('tx-replay', 'PENDING', 'Ledger.deposit', $1, 'tx-exec', 'v1', $2, $2)`,
      [serialize(['carol', 5]), now],
    );
    await sql(
      `INSERT INTO "${schema}".operation_outputs (workflow_id, step_id, step_name, output, started_at, completed_at)
       VALUES ('tx-replay', 0, 'Ledger.credit', $1, $2, $2)`,
      [serialize(4242), now],
    );
    Ledger.runs = 0;
    const a = await start();
    await a.get(RecoveryService).whenRecovered();
    await expect(a.get(WorkflowClient).retrieve('tx-replay').getResult({ timeoutMs: 10_000 })).resolves.toEqual({ id: 4242, balance: 0 });
    expect(Ledger.runs).toBe(0);
    expect(await ledgerRows('carol')).toEqual([]);
  });

  it('a readOnly transaction cannot write', async () => {
    const a = await start();
    await expect(a.get(Ledger).readOnlyWrite()).rejects.toThrow(/read-only transaction/);
  });

  it('applies the isolation level', async () => {
    const a = await start();
    await expect(a.get(Ledger).serializable()).resolves.toBe('serializable');
  });

  it('outside a workflow a @Transaction still runs in a transaction, without a checkpoint', async () => {
    const a = await start();
    await expect(a.get(Ledger).credit('dave', 3)).resolves.toEqual(expect.any(Number));
    expect(await ledgerRows('dave')).toEqual([{ amount: 3 }]);
  });

  it('never destroys the DataSource it was given', async () => {
    await (await start()).close();
    app = undefined;
    expect(appDataSource.isInitialized).toBe(true);
  });
});
