import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DbosDatabaseUnavailableError, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { effectLedger } from '../support/effect-ledger';
import { LoginRole } from '../support/login-role';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { FaultProxy } from '../support/fault-proxy';
import { quietPeriod, waitFor } from '../support/wait';

const schema = uniqueSchema('login');
const effects = `public.${schema}_effects`;
/** The window over which new connections are counted while logins are refused. */
const WINDOW_MS = 5_000;

const Ledger = effectLedger(effects, 200);

/**
 * A server that refuses the app's login (a rotated password, a role made NOLOGIN; here NOLOGIN,
 * which the test server's trust authentication still enforces) is an unavailable database: calls
 * get DbosDatabaseUnavailableError, workflows pause, and the process tries a new login at a bounded
 * pace (LoginGate) however many calls come: every connection is counted at a proxy in front.
 */
describe('a refused login', () => {
  let proxy: FaultProxy;
  let app: INestApplicationContext | undefined;
  let role: LoginRole;

  beforeAll(async () => {
    role = await LoginRole.create('login');
    await sql(`CREATE TABLE ${effects} (workflow_id text NOT NULL, step int NOT NULL)`);
    const target = new URL(databaseUrl());
    proxy = await FaultProxy.start({ target: { host: target.hostname, port: Number(target.port || 5432) } });
    app = await createDbosApp([Ledger], { schema, database: { url: role.url(proxy.url(databaseUrl())) }, executorId: 'login-exec' });
  });
  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await dropSchema(schema);
    await sql(`DROP TABLE IF EXISTS ${effects}`);
    await role?.drop();
  });

  it('answers DbosDatabaseUnavailableError, pauses workflows and opens new connections at a bounded pace, then continues once the login works', async () => {
    const client = app!.get(WorkflowClient);
    const handles = await Promise.all(Array.from({ length: 10 }, (_, i) => client.start(Ledger, { workflowId: `login-${i}` }).fiveSteps()));
    const written = async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${effects}`))[0].n;
    await waitFor(async () => (await written()) >= 15, { what: 'steps before the login is refused', timeoutMs: 20_000 });

    await role.alter('NOLOGIN');
    // 20 starts every 50 ms: 400 calls in the window, each of which would open a connection.
    let refused = 0;
    const wrong: string[] = [];
    const hammer = setInterval(() => {
      for (let i = 0; i < 20; i++) {
        client
          .start(Ledger, { workflowId: `login-extra-${randomBytes(4).toString('hex')}` })
          .fiveSteps()
          .then(
            (h) => wrong.push(`started ${h.workflowId}`),
            (err: unknown) => (err instanceof DbosDatabaseUnavailableError ? refused++ : wrong.push(String(err))),
          );
      }
    }, 50);
    try {
      await waitFor(() => refused > 0, { what: 'a start refused as unavailable', timeoutMs: 10_000 });
      const attemptsIn = async () => {
        const from = proxy.counters.connections;
        await quietPeriod(WINDOW_MS, 'new connections piling up while the login is refused');
        return proxy.counters.connections - from;
      };
      const first = await attemptsIn();
      const callsBefore = refused;
      const second = await attemptsIn();
      console.log(`Refused login: ${first} then ${second} new connections in two ${WINDOW_MS / 1000} s windows, ${refused - callsBefore} calls in the second`);
      expect(wrong).toEqual([]);
      expect(refused - callsBefore).toBeGreaterThan(300);
      // Three retrying parts (the pool, the LISTEN connection, the heartbeat), each backing off from
      // 100 ms to 5 s: about 13 logins in the first seconds, then one per part every few seconds.
      // Without the gate, each of the ~400 calls of a window tried one.
      expect(first).toBeLessThanOrEqual(40);
      expect(second).toBeLessThanOrEqual(10);
    } finally {
      clearInterval(hammer);
    }

    await role.alter('LOGIN');
    await expect(Promise.all(handles.map((h) => h.getResult({ timeoutMs: 60_000 })))).resolves.toEqual(Array(10).fill(5));
    const counts = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${effects} WHERE workflow_id ~ '^login-[0-9]$' GROUP BY workflow_id, step`);
    expect(counts).toHaveLength(50);
    expect(counts.every((c) => c.n === 1)).toBe(true);
    expect(await sql(`SELECT workflow_id FROM "${schema}".workflow_status WHERE status NOT IN ('SUCCESS', 'PENDING')`)).toEqual([]);
  }, 90_000);
});
