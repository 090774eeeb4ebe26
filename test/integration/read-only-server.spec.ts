import 'reflect-metadata';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, DbosDatabaseUnavailableError, Transaction, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { effectLedger } from '../support/effect-ledger';
import { LoginRole } from '../support/login-role';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

const schema = uniqueSchema('readonly');
const effects = `public.${schema}_effects`;

const Ledger = effectLedger(effects, 200);

@Injectable()
class Buggy {
  constructor(private readonly dbos: DbosContext) {}

  @Transaction({ readOnly: true }) async writesInReadOnly(): Promise<void> {
    await this.dbos.entityManager.query(`INSERT INTO ${effects} (workflow_id, step) VALUES ($1, 0)`, [this.dbos.workflowId]);
  }

  @Workflow() async run(): Promise<void> {
    await this.writesInReadOnly();
  }
}

/**
 * A server that takes no writes (SQLSTATE 25006: a standby, a primary being demoted, a proxy still
 * routing to it) is an unavailable database: workflows pause and continue, starts answer
 * DbosDatabaseUnavailableError; nothing is recorded as a workflow's failure. Simulated with a role
 * whose sessions are read-only (default_transaction_read_only), its connections cut at each switch.
 */
describe('a read-only server', () => {
  let app: INestApplicationContext | undefined;
  let role: LoginRole;
  /** The role's sessions from now on are read-only (or not): what a standby (or a promoted one) is at the same address. */
  const setReadOnly = (on: boolean) => role.alter(on ? 'SET default_transaction_read_only = on' : 'RESET default_transaction_read_only');

  beforeAll(async () => {
    role = await LoginRole.create('ro');
    await sql(`CREATE TABLE ${effects} (workflow_id text NOT NULL, step int NOT NULL)`);
    app = await createDbosApp([Ledger, Buggy], { schema, database: { url: role.url(databaseUrl()) }, executorId: 'read-only-exec' });
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
    await sql(`DROP TABLE IF EXISTS ${effects}`);
    await role?.drop();
  });

  it('pauses workflows (never records 25006 as their failure) and answers starts with DbosDatabaseUnavailableError, then continues', async () => {
    const client = app!.get(WorkflowClient);
    const handles = await Promise.all(Array.from({ length: 10 }, (_, i) => client.start(Ledger, { workflowId: `ro-${i}` }).fiveSteps()));
    const written = async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${effects}`))[0].n;
    await waitFor(async () => (await written()) >= 15, { what: 'steps before the server turns read-only', timeoutMs: 20_000 });

    await setReadOnly(true);
    await waitFor(
      async () =>
        client
          .start(Ledger, { workflowId: `ro-probe-${Date.now()}` })
          .fiveSteps()
          .then(
            () => false,
            (err: unknown) => err instanceof DbosDatabaseUnavailableError && /read-only/.test((err as Error).message),
          ),
      { what: 'a start answered DbosDatabaseUnavailableError (read-only)', timeoutMs: 10_000, intervalMs: 100 },
    );
    const before = await written();
    await quietPeriod(1_500, 'a step written, or a workflow recorded as failed, while the server is read-only');
    expect(await written()).toBe(before);
    expect(await sql(`SELECT workflow_id, status FROM "${schema}".workflow_status WHERE status NOT IN ('SUCCESS', 'PENDING')`)).toEqual([]);

    await setReadOnly(false);
    await expect(Promise.all(handles.map((h) => h.getResult({ timeoutMs: 60_000 })))).resolves.toEqual(Array(10).fill(5));
    const counts = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${effects} WHERE workflow_id ~ '^ro-[0-9]$' GROUP BY workflow_id, step`);
    expect(counts).toHaveLength(50);
    expect(counts.every((c) => c.n === 1)).toBe(true);
    expect(await sql(`SELECT workflow_id FROM "${schema}".workflow_status WHERE status NOT IN ('SUCCESS', 'PENDING')`)).toEqual([]);
  }, 90_000);

  it('a write in a @Transaction({ readOnly: true }) on a writable server is still the workflow’s own failure', async () => {
    const handle = await app!.get(WorkflowClient).start(Buggy, { workflowId: 'ro-buggy' }).run();
    await expect(handle.getResult({ timeoutMs: 20_000 })).rejects.toThrow(/read-only transaction/);
    await expect(handle.getStatus()).resolves.toMatchObject({ status: 'ERROR' });
  });
});
