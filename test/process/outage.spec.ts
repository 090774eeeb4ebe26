import 'reflect-metadata';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, DbosDatabaseUnavailableError, DbosHealthIndicator, Transaction, Workflow, WorkflowClient } from '../../lib';
import { SystemDatabase } from '../../lib/system-database/system.database';
import { createDbosApp } from '../support/app';
import { ChildApp } from '../support/child-app';
import { sqlAt, uniqueSchema } from '../support/database';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

/** The test's own Postgres server, in a child process it can stop and start. */
class PostgresServer {
  private child?: ChildApp;
  private port?: number;
  url = '';

  async start(): Promise<void> {
    // A port of its own per run (kept across restarts): other checkouts run this suite on the machine too.
    this.port ??= await freePort();
    this.child = ChildApp.start('pg-server.ts', { PG_DIR: '.dbos/outage-pgdata', PG_PORT: String(this.port) });
    [, this.url] = await this.child.waitForOutput(/READY (\S+)/, 60_000);
  }

  async stop(): Promise<void> {
    await this.child?.kill('SIGTERM');
    this.child = undefined;
  }
}

// A schema and a table of their own per run: the server's data directory is shared by the runs of this checkout.
const schema = uniqueSchema('outage');
const effects = `public.${schema}_effects`;

@Injectable()
class Ledger {
  constructor(private readonly dbos: DbosContext) {}

  @Transaction() async effect(step: number): Promise<void> {
    await this.dbos.entityManager.query(`INSERT INTO ${effects} (workflow_id, step) VALUES ($1, $2)`, [this.dbos.workflowId, step]);
  }

  @Workflow() async fiveSteps(n: number): Promise<number> {
    for (let step = 1; step <= 5; step++) {
      await this.effect(step);
      await this.dbos.sleep(150);
    }
    return n;
  }
}

/**
 * Postgres going away under a running app: its own server (embedded, on a port of its own) so
 * the test can terminate every connection and stop and start the server.
 */
describe('database outages', () => {
  const server = new PostgresServer();
  let url: string;
  let app: INestApplicationContext | undefined;

  const admin = <R = Record<string, unknown>>(text: string) => sqlAt<R>(url, text);

  beforeAll(async () => {
    await server.start();
    url = server.url;
    await admin(`CREATE TABLE ${effects} (workflow_id text, step int)`);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin(`DROP TABLE IF EXISTS ${effects}`).catch(() => undefined);
    await server.stop();
  });

  it('workflows pause through terminated connections and a Postgres restart, then each completes exactly once', async () => {
    app = await createDbosApp([Ledger], { schema, database: { url }, executorId: 'outage-exec' });
    const client = app.get(WorkflowClient);
    const handles = await Promise.all(Array.from({ length: 20 }, (_, i) => client.start(Ledger, { workflowId: `o-${i}` }).fiveSteps(i)));

    let written = 0;
    const moreWritten = async () => {
      const n = (await admin<{ n: number }>(`SELECT count(*)::int AS n FROM ${effects}`))[0].n;
      const more = n > written || n === 100;
      written = n;
      return more;
    };
    for (let i = 0; i < 3; i++) {
      // Each termination hits running workflows: a step was written since the last one (unless all 100 are).
      await waitFor(moreWritten, { what: `a step written before termination ${i + 1}`, timeoutMs: 30_000, intervalMs: 20 });
      await admin(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      );
    }

    await server.stop();
    await expect(client.list()).rejects.toThrow(DbosDatabaseUnavailableError);
    await expect(app.get(DbosHealthIndicator).isHealthy('workflows')).resolves.toMatchObject({ workflows: { status: 'down', database: 'down' } });
    // Down for 1.5 s on purpose: the outage the workflows must pause through.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await server.start();

    const results = await Promise.all(handles.map((h) => h.getResult({ timeoutMs: 60_000 })));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const counts = await admin(`SELECT workflow_id, step, count(*)::int AS n FROM ${effects} GROUP BY 1, 2`);
    expect(counts).toHaveLength(100);
    expect(counts.filter((e) => e.n !== 1)).toEqual([]);
    await waitFor(async () => (await app!.get(DbosHealthIndicator).isHealthy('workflows')).workflows.status === 'up', 20_000, 100);
    await expect(app.get(DbosHealthIndicator).isHealthy('workflows')).resolves.toEqual({
      workflows: { status: 'up', database: 'up', listener: 'up', recovery: 'done' },
    });
  }, 120_000);

  it('startup with the database down retries for startupRetryMs, then names the URL without its password', async () => {
    const started = Date.now();
    const error = await SystemDatabase.open({
      url: 'postgres://app:hunter2@127.0.0.1:1/app',
      schema,
      runMigrations: true,
      startupRetryMs: 1_500,
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(DbosDatabaseUnavailableError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect((error as Error).message).toContain('postgres://app:***@127.0.0.1:1/app');
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('startup succeeds when the database comes up within startupRetryMs', async () => {
    await app?.close();
    app = undefined;
    await server.stop();
    setTimeout(() => void server.start(), 1_000);
    const db = await SystemDatabase.open({ url, schema, runMigrations: true, startupRetryMs: 30_000 });
    await expect(db.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
    await db.close();
  }, 60_000);
});
