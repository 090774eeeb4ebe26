import 'reflect-metadata';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DbosContext, DbosDatabaseUnavailableError, Transaction, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

const schema = uniqueSchema('readonly');
const effects = `public.${schema}_effects`;
const role = `ro_${randomBytes(4).toString('hex')}`;

@Injectable()
class Ledger {
  constructor(private readonly dbos: DbosContext) {}

  @Transaction() async effect(step: number): Promise<void> {
    await this.dbos.entityManager.query(`INSERT INTO ${effects} (workflow_id, step) VALUES ($1, $2)`, [this.dbos.workflowId, step]);
  }

  @Transaction({ readOnly: true }) async writesInReadOnly(): Promise<void> {
    await this.dbos.entityManager.query(`INSERT INTO ${effects} (workflow_id, step) VALUES ($1, 0)`, [this.dbos.workflowId]);
  }

  @Workflow() async fiveSteps(): Promise<number> {
    for (let step = 1; step <= 5; step++) {
      await this.effect(step);
      await this.dbos.sleep(200);
    }
    return 5;
  }

  @Workflow() async buggy(): Promise<void> {
    await this.writesInReadOnly();
  }
}

/** The role's sessions from now on are read-only (or not): what a standby (or a promoted one) is at the same address. */
async function setReadOnly(on: boolean): Promise<void> {
  await sql(on ? `ALTER ROLE ${role} SET default_transaction_read_only = on` : `ALTER ROLE ${role} RESET default_transaction_read_only`);
  await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]);
}

/**
 * A server that takes no writes (SQLSTATE 25006: a standby, a primary being demoted, a proxy still
 * routing to it) is an unavailable database: workflows pause and continue, starts answer
 * DbosDatabaseUnavailableError; nothing is recorded as a workflow's failure. Simulated with a role
 * whose sessions are read-only (default_transaction_read_only), its connections cut at each switch.
 */
describe('a read-only server', () => {
  let app: INestApplicationContext | undefined;

  beforeAll(async () => {
    await sql(`CREATE ROLE ${role} LOGIN SUPERUSER`);
    await sql(`CREATE TABLE ${effects} (workflow_id text NOT NULL, step int NOT NULL)`);
    const url = new URL(databaseUrl());
    url.username = role;
    app = await createDbosApp([Ledger], { schema, database: { url: url.toString() }, executorId: 'read-only-exec' });
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
    await sql(`DROP TABLE IF EXISTS ${effects}`);
    await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]);
    await sql(`DROP ROLE IF EXISTS ${role}`);
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
    const handle = await app!.get(WorkflowClient).start(Ledger, { workflowId: 'ro-buggy' }).buggy();
    await expect(handle.getResult({ timeoutMs: 20_000 })).rejects.toThrow(/read-only transaction/);
    await expect(handle.getStatus()).resolves.toMatchObject({ status: 'ERROR' });
  });
});
