import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Client } from 'pg';
import { DbosContext, DbosDatabaseUnavailableError, Transaction, Workflow, WorkflowClient } from '../../lib';
import { SystemDatabase } from '../../lib/system-database/system.database';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

const schema = uniqueSchema('connloss');

@Injectable()
class Flaky {
  static killsLeft = 0;
  constructor(private readonly dbos: DbosContext) {}

  /** Loses its connection between two of its queries, the first time(s) it runs. */
  @Transaction() async write(): Promise<string> {
    const manager = this.dbos.entityManager;
    await manager.query(`INSERT INTO "${schema}".effects (workflow_id) VALUES ($1)`, [this.dbos.workflowId]);
    if (Flaky.killsLeft > 0) {
      Flaky.killsLeft--;
      const [{ pid }] = await manager.query('SELECT pg_backend_pid() AS pid');
      const killer = new Client({ connectionString: databaseUrl() });
      await killer.connect();
      await killer.query('SELECT pg_terminate_backend($1)', [pid]);
      // Gone: the next query on this connection fails.
      await waitFor(async () => (await killer.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0, {
        what: `backend ${pid} to exit`,
      });
      await killer.end();
    }
    await manager.query('SELECT 1');
    return 'written';
  }

  @Workflow() async run(): Promise<string> {
    return this.write();
  }
}

describe('a connection lost mid-operation', () => {
  let app: INestApplicationContext;
  beforeAll(async () => {
    app = await createDbosApp([Flaky], { schema });
    await sql(`CREATE TABLE "${schema}".effects (workflow_id text)`);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  it('inside a @Transaction pauses and replays the workflow instead of recording a failure', async () => {
    Flaky.killsLeft = 2;
    const handle = await app.get(WorkflowClient).start(Flaky, { workflowId: 'lost-in-tx' }).run();
    await expect(handle.getResult({ timeoutMs: 30_000 })).resolves.toBe('written');
    expect(await sql(`SELECT count(*)::int AS n FROM "${schema}".effects WHERE workflow_id = 'lost-in-tx'`)).toEqual([{ n: 1 }]);
    expect((await handle.getStatus())!.status).toBe('SUCCESS');
  });

  it('inside a system transaction rejects with DbosDatabaseUnavailableError and does not crash the process', async () => {
    const db = await SystemDatabase.open({ url: databaseUrl(), schema, runMigrations: false });
    try {
      const error = await db
        .transaction(async (client) => {
          await client.query('SELECT pg_terminate_backend(pg_backend_pid())');
        })
        .catch((e: Error) => e);
      expect(error).toBeInstanceOf(DbosDatabaseUnavailableError);
      await quietPeriod(200, "an unhandled 'error' event would surface now");
      await expect(db.query('SELECT 1 AS ok')).resolves.toEqual([{ ok: 1 }]);
    } finally {
      await db.close();
    }
  });
});

describe('isConnectionError', () => {
  it('counts TypeORM errors about a query runner released after its connection died', async () => {
    const { isConnectionError } = await import('../../lib/system-database/connection-errors.util');
    const { QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } = await import('typeorm');
    expect(isConnectionError(new QueryRunnerAlreadyReleasedError())).toBe(true);
    expect(isConnectionError(new QueryRunnerProviderAlreadyReleasedError())).toBe(true);
    expect(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBe(false);
  });
});
