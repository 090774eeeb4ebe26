import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosConfigurationError, DbosContext, DbosHealthIndicator, Workflow, WorkflowClient } from '../../lib';
import { DBOS_SYSTEM_DATABASE } from '../../lib/dbos.constants';
import type { DbosDatabase } from '../../lib/dbos.database';
import { run } from '../../lib/cli/cli.runner';
import { SystemDatabase } from '../../lib/system-database/system.database';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { PgBouncer, pgbouncerMissing } from '../support/pgbouncer';

@Injectable()
class Mailbox {
  constructor(private readonly dbos: DbosContext) {}

  @Workflow() async receiveOne(): Promise<unknown> {
    return this.dbos.recv('mail', { timeoutMs: 20_000 });
  }
}

const missing = pgbouncerMissing();
const suite = missing ? describe.skip : describe;

suite(`PgBouncer: without database.pooler, migrations, session mode${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const schema = uniqueSchema('poolerr');
  const bouncers: PgBouncer[] = [];
  const start = async (...args: Parameters<typeof PgBouncer.start>) => {
    const bouncer = await PgBouncer.start(...args);
    bouncers.push(bouncer);
    return bouncer;
  };

  afterAll(async () => {
    await Promise.all(bouncers.map((b) => b.stop()));
    await dropSchema(schema);
  });

  it('an app pointed at PgBouncer without the option fails at once, saying to set database.pooler', async () => {
    const bouncer = await start({ poolMode: 'transaction' });
    const startedAt = Date.now();
    const failure = createDbosApp([Mailbox], { schema, database: { url: bouncer.url(databaseUrl()) } });
    await expect(failure).rejects.toThrow(DbosConfigurationError);
    await expect(failure).rejects.toThrow(/unsupported startup parameter.*database\.pooler: 'transaction'/s);
    // A configuration error is not retried as an unreachable database would be (startupRetryMs, 30 s by default).
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });

  it('a transaction pooler that drops the startup parameters: the first named statement on a moved session says to set database.pooler', async () => {
    const bouncer = await start({
      poolMode: 'transaction',
      poolSize: 2,
      ignoreStartupParameters: ['statement_timeout', 'idle_in_transaction_session_timeout'],
    });
    const db = await SystemDatabase.open({ url: bouncer.url(databaseUrl()), schema, runMigrations: true, poolSize: 8 });
    try {
      // Eight client connections on two server connections: a statement prepared through one is met again through another.
      const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => db.query<{ n: number }>('SELECT $1::int AS n', [i])));
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error);
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(DbosConfigurationError);
        expect(failure.message).toMatch(/transaction-mode pooler.*database\.pooler: 'transaction'/s);
      }
    } finally {
      await db.close();
    }
    // The same statements with the option: none named, none fails.
    const pooled = await SystemDatabase.open({ url: bouncer.url(databaseUrl()), schema, runMigrations: false, poolSize: 8, pooler: 'transaction' });
    try {
      const rows = await Promise.all(Array.from({ length: 40 }, (_, i) => pooled.query<{ n: number }>('SELECT $1::int AS n', [i])));
      expect(rows.map((r) => r[0].n)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    } finally {
      await pooled.close();
    }
  });

  it('concurrent starts migrate one at a time through it, and leave no advisory lock behind', async () => {
    const bouncer = await start({ poolMode: 'transaction', poolSize: 3 });
    const fresh = uniqueSchema('poolmig');
    const open = () => SystemDatabase.open({ url: bouncer.url(databaseUrl()), schema: fresh, runMigrations: true, poolSize: 2, pooler: 'transaction' });
    try {
      for (let round = 0; round < 2; round++) {
        const dbs = await Promise.all([open(), open(), open(), open()]);
        await Promise.all(dbs.map((db) => db.close()));
      }
      const applied = await sql<{ n: string }>(`SELECT count(*) AS n FROM "${fresh}".migrations`);
      expect(Number(applied[0].n)).toBeGreaterThan(5);
      // A session lock taken through a transaction pooler would stay on the server connection it was taken on.
      const locks = await sql(
        `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      expect(locks).toEqual([]);
    } finally {
      await dropSchema(fresh);
    }
  });

  it('the CLI migrates and lists through it with --pooler transaction, and says to pass --pooler without it', async () => {
    const bouncer = await start({ poolMode: 'transaction' });
    const fresh = uniqueSchema('poolcli');
    const cli = async (...argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await run([...argv, '--schema', fresh, '--database-url', bouncer.url(databaseUrl())], {
        stdout: (text) => (stdout += text),
        stderr: (text) => (stderr += text),
        env: {},
      });
      return { code, stdout, stderr };
    };
    try {
      const refused = await cli('migrate');
      expect(refused.code).toBe(4);
      expect(refused.stderr).toMatch(/unsupported startup parameter[\s\S]*Pass --pooler transaction/);
      expect(await cli('migrate', '--pooler', 'transaction')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Applied \d+ migrations/) });
      expect(await cli('workflows', 'list', '--json', '--pooler', 'transaction')).toMatchObject({ code: 0, stdout: '[]\n' });
    } finally {
      await dropSchema(fresh);
    }
  });

  describe('session mode with database.pooler: session', () => {
    let app: INestApplicationContext;

    beforeAll(async () => {
      const bouncer = await start({ poolMode: 'session', poolSize: 30 });
      app = await createDbosApp([Mailbox], { schema, database: { url: bouncer.url(databaseUrl()), pooler: 'session' } });
    });
    afterAll(() => app?.close());

    it('LISTEN works through it: a message wakes recv at once', async () => {
      expect(app.get<DbosDatabase>(DBOS_SYSTEM_DATABASE).listener.isListening).toBe(true);
      const client = app.get(WorkflowClient);
      const handle = await client.start(Mailbox).receiveOne();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sentAt = Date.now();
      await client.send(handle.workflowId, 'hello', 'mail');
      await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toBe('hello');
      expect(Date.now() - sentAt).toBeLessThan(1_000);
      expect((await app.get(DbosHealthIndicator).isReady('dbos')).dbos.listener).toBe('up');
    });
  });
});
