import { Injectable, Module, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  DbosContext,
  DbosModule,
  DbosNotFoundError,
  OnWorkflowEvent,
  Step,
  Transaction,
  Workflow,
  WorkflowClient,
  type DbosModuleOptions,
  type WorkflowEvent,
} from '../../lib';
import { resolveDbosOptions } from '../../lib/dbos.options';
import { databaseUrl, dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

/** Every line the app logs, with its level and context. */
class CapturedLog implements LoggerService {
  readonly lines: { level: string; context: string; message: string }[] = [];
  log(message: unknown, ...rest: unknown[]) {
    this.push('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.push('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.push('warn', message, rest);
  }
  debug() {}
  verbose() {}
  private push(level: string, message: unknown, rest: unknown[]) {
    this.lines.push({ level, context: String(rest[rest.length - 1] ?? ''), message: String(message) });
  }
  /** Lines whose message matches. */
  matching(pattern: RegExp) {
    return this.lines.filter((l) => pattern.test(l.message));
  }
}

@Injectable()
class Orders {
  static ran: string[] = [];
  constructor(private readonly dbos: DbosContext) {}

  @Step() async note(what: string): Promise<string> {
    Orders.ran.push(what);
    return what;
  }

  @Transaction() async touch(): Promise<number> {
    const rows = await this.dbos.entityManager.query('SELECT 1 AS one');
    return rows[0].one;
  }

  @Workflow() async ok(label: string): Promise<string> {
    await this.note(label);
    return `ok:${label}`;
  }

  @Workflow() async boom(label: string): Promise<string> {
    await this.note(label);
    throw new Error(`boom ${label}`);
  }

  @Workflow() async wait(label: string): Promise<string> {
    await this.note(label);
    await this.dbos.recv('never', { timeoutMs: 600_000 });
    return label;
  }

  @Workflow() async parent(label: string): Promise<string> {
    await this.dbos.startWorkflow(Orders, { workflowId: `${label}.child` }).wait(`${label}.child`);
    await this.dbos.recv('never', { timeoutMs: 600_000 });
    return label;
  }
}

@Injectable()
class Hooks {
  static events: WorkflowEvent[] = [];
  static failedCheckouts: WorkflowEvent[] = [];
  static selves: unknown[] = [];

  @OnWorkflowEvent('finished')
  @OnWorkflowEvent('failed')
  @OnWorkflowEvent('cancelled')
  @OnWorkflowEvent('recovered')
  record(event: WorkflowEvent): void {
    Hooks.selves.push(this);
    Hooks.events.push(event);
  }

  @OnWorkflowEvent('failed', { workflowName: 'Orders.boom' })
  onlyBoom(event: WorkflowEvent): void {
    Hooks.failedCheckouts.push(event);
  }

  @OnWorkflowEvent('finished', { workflowName: 'Orders.ok' })
  async explode(): Promise<void> {
    throw new Error('the hook exploded');
  }

  @OnWorkflowEvent('finished', { workflowName: ['Orders.ok', 'Orders.boom'] })
  @OnWorkflowEvent('failed', { workflowName: 'Orders.boom' })
  hang(): Promise<void> {
    return new Promise(() => undefined); // never settles
  }
}

const eventsOf = (workflowId: string) => Hooks.events.filter((e) => e.workflowId === workflowId);
/** After the event (and log line) awaited came: the window in which a second one would show. */
const noSecondEvent = () => quietPeriod(400, 'a second event or log line would show now');

async function startApp(schema: string, log: CapturedLog, options: Partial<DbosModuleOptions> = {}): Promise<INestApplicationContext> {
  @Module({
    imports: [
      DbosModule.forRoot({
        database: databaseOptions(),
        schema,
        executorId: 'hooks-exec',
        applicationVersion: 'v1',
        shutdownTimeoutMs: 2_000,
        recovery: { executorLeaseMs: 1_000 },
        ...options,
      }),
    ],
    providers: [Orders, Hooks],
  })
  class HooksAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [HooksAppModule] })
    .setLogger(log)
    .compile();
  const app = moduleRef.createNestApplication({ logger: log });
  await app.init();
  return app;
}

describe('workflow events, operator logs and connection names', () => {
  const schema = uniqueSchema('hooks');
  const log = new CapturedLog();
  let app: INestApplicationContext;
  let client: WorkflowClient;

  beforeAll(async () => {
    app = await startApp(schema, log);
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
  });

  it('finished: fires once with the output; a throwing and a never-settling hook are logged or ignored, and change nothing', async () => {
    const handle = await client.start(Orders, { workflowId: 'ev-ok' }).ok('a');
    // A hook that never settles must not hold up the result (the hook is not awaited).
    await expect(handle.getResult({ timeoutMs: 5_000 })).resolves.toBe('ok:a');
    await waitFor(() => eventsOf('ev-ok').length > 0 && log.matching(/^Workflow ev-ok: @OnWorkflowEvent\('finished'\) hook Hooks\.explode failed/).length > 0);
    await noSecondEvent();
    expect(eventsOf('ev-ok')).toEqual([
      expect.objectContaining({
        type: 'finished',
        workflowId: 'ev-ok',
        workflowName: 'Orders.ok',
        status: 'SUCCESS',
        output: 'ok:a',
        executorId: 'hooks-exec',
      }),
    ]);
    expect(eventsOf('ev-ok')[0].at).toBeInstanceOf(Date);
    expect(Hooks.selves.every((self) => self instanceof Hooks)).toBe(true);
    expect(log.matching(/^Workflow ev-ok: @OnWorkflowEvent\('finished'\) hook Hooks\.explode failed: the hook exploded$/)).toHaveLength(1);
    expect((await client.getStatus('ev-ok'))?.status).toBe('SUCCESS');
  });

  it('failed: fires once with the error, and a hook filtered by workflow name hears only its workflow; the ERROR is logged once', async () => {
    const handle = await client.start(Orders, { workflowId: 'ev-boom' }).boom('b');
    await expect(handle.getResult({ timeoutMs: 5_000 })).rejects.toThrow('boom b');
    await waitFor(() => eventsOf('ev-boom').length > 0 && log.matching(/^Workflow ev-boom \(Orders\.boom\) ended in ERROR/).length > 0);
    await noSecondEvent();
    expect(eventsOf('ev-boom')).toEqual([expect.objectContaining({ type: 'failed', workflowName: 'Orders.boom', status: 'ERROR' })]);
    expect(eventsOf('ev-boom')[0].error).toBeInstanceOf(Error);
    expect(eventsOf('ev-boom')[0].error!.message).toBe('boom b');
    expect(Hooks.failedCheckouts.map((e) => e.workflowId)).toEqual(['ev-boom']);
    expect(log.matching(/^Workflow ev-boom \(Orders\.boom\) ended in ERROR: Error: boom b$/)).toHaveLength(1);
  });

  it('cancelled here: the root and its child fire once each; one log line names the root and its descendant', async () => {
    await client.start(Orders, { workflowId: 'ev-tree' }).parent('ev-tree');
    await waitFor(async () => (await client.getStatus('ev-tree.child'))?.status === 'PENDING');
    await waitFor(() => Orders.ran.includes('ev-tree.child'));
    await client.cancel('ev-tree');
    await waitFor(() => eventsOf('ev-tree.child').length > 0 && eventsOf('ev-tree').length > 0 && log.matching(/ev-tree/).length > 0);
    await noSecondEvent(); // the NOTIFY of the cancel comes back to this process too
    expect(eventsOf('ev-tree')).toEqual([
      expect.objectContaining({ type: 'cancelled', status: 'CANCELLED', cancelSource: 'here', workflowName: 'Orders.parent' }),
    ]);
    expect(eventsOf('ev-tree')[0].cancelledWith).toBeUndefined();
    expect(eventsOf('ev-tree.child')).toEqual([expect.objectContaining({ type: 'cancelled', cancelSource: 'here', cancelledWith: 'ev-tree' })]);
    expect(log.matching(/ev-tree/)).toEqual([
      expect.objectContaining({ context: 'WorkflowControl', message: 'Workflow ev-tree (Orders.parent) cancelled with 1 descendant(s): ev-tree.child' }),
    ]);
  });

  it('cancelled elsewhere: the process running it logs that its run stopped, and fires once', async () => {
    await client.start(Orders, { workflowId: 'ev-remote' }).wait('ev-remote');
    await waitFor(() => Orders.ran.includes('ev-remote'));
    const outside = await WorkflowClient.connect({ database: databaseOptions(), schema });
    try {
      await outside.cancel('ev-remote');
    } finally {
      await outside.close();
    }
    await waitFor(() => eventsOf('ev-remote').length > 0 && log.matching(/ev-remote/).length > 0);
    await noSecondEvent();
    expect(eventsOf('ev-remote')).toEqual([expect.objectContaining({ type: 'cancelled', cancelSource: 'remote', workflowName: 'Orders.wait' })]);
    expect(log.matching(/ev-remote/)).toEqual([
      expect.objectContaining({ message: 'Workflow ev-remote (Orders.wait): its run here stopped, cancelled by another process' }),
    ]);
  });

  it('resume and fork are logged once each with the workflow id', async () => {
    await client.resume('ev-remote');
    await client.send('ev-remote', 'go', 'never');
    await expect(client.retrieve('ev-remote').getResult({ timeoutMs: 5_000 })).resolves.toBe('ev-remote');
    expect(log.matching(/^Workflow ev-remote resumed/)).toHaveLength(1);
    const fork = await client.fork('ev-ok', { fromStep: 0, workflowId: 'ev-ok-fork' });
    await expect(fork.getResult({ timeoutMs: 5_000 })).resolves.toBe('ok:a');
    expect(log.matching(/^Workflow ev-ok forked from step 0 as ev-ok-fork$/)).toHaveLength(1);
    await waitFor(() => eventsOf('ev-ok-fork').length > 0);
    expect(eventsOf('ev-ok-fork')).toEqual([expect.objectContaining({ type: 'finished', output: 'ok:a' })]);
  });

  it('recovered by the sweep: fires once, logged once, then the workflow finishes again', async () => {
    await client
      .start(Orders, { workflowId: 'ev-sweep' })
      .ok('s')
      .then((h) => h.getResult());
    // As if a start's reply was lost: PENDING on this executor, nothing running it here.
    await sql(`UPDATE "${schema}".workflow_status SET status = 'PENDING', output = NULL, updated_at = 0 WHERE workflow_id = 'ev-sweep'`);
    await waitFor(
      () => eventsOf('ev-sweep').filter((e) => e.type === 'finished').length === 2 && log.matching(/^Workflow ev-sweep .*recovered/).length > 0,
      15_000,
    );
    await noSecondEvent();
    expect(eventsOf('ev-sweep').map((e) => [e.type, e.recoverySource])).toEqual([
      ['finished', undefined],
      ['recovered', 'sweep'],
      ['finished', undefined],
    ]);
    expect(log.matching(/^Workflow ev-sweep \(Orders\.ok\) recovered by the sweep/)).toHaveLength(1);
  });

  it('recovered by adoption of a silent executor: fires once with the previous executor, logged once', async () => {
    await client
      .start(Orders, { workflowId: 'ev-adopt' })
      .ok('d')
      .then((h) => h.getResult());
    await sql(
      `UPDATE "${schema}".workflow_status SET status = 'PENDING', output = NULL, executor_id = 'dead-exec', updated_at = 0 WHERE workflow_id = 'ev-adopt'`,
    );
    await waitFor(
      () => eventsOf('ev-adopt').filter((e) => e.type === 'finished').length === 2 && log.matching(/^Workflow ev-adopt .*recovered/).length > 0,
      15_000,
    );
    await noSecondEvent();
    const recovered = eventsOf('ev-adopt').filter((e) => e.type === 'recovered');
    expect(recovered).toEqual([expect.objectContaining({ recoverySource: 'adoption', previousExecutorId: 'dead-exec', status: 'PENDING' })]);
    expect(log.matching(/^Workflow ev-adopt \(Orders\.ok\) recovered by adoption from silent executor "dead-exec"/)).toHaveLength(1);
  });

  it('failed also fires for MAX_RECOVERY_ATTEMPTS_EXCEEDED', async () => {
    await client
      .start(Orders, { workflowId: 'ev-max' })
      .ok('m')
      .then((h) => h.getResult());
    await sql(
      `UPDATE "${schema}".workflow_status SET status = 'PENDING', output = NULL, updated_at = 0, recovery_attempts = 1000 WHERE workflow_id = 'ev-max'`,
    );
    await waitFor(() => eventsOf('ev-max').length === 2 && log.matching(/^Workflow ev-max .*exceeded/).length > 0, 15_000);
    await noSecondEvent();
    expect(eventsOf('ev-max')[1]).toMatchObject({ type: 'failed', status: 'MAX_RECOVERY_ATTEMPTS_EXCEEDED' });
    expect(eventsOf('ev-max')[1].error?.name).toBe('DbosMaxRecoveryAttemptsError');
    expect(log.matching(/^Workflow ev-max \(Orders\.ok\) exceeded \d+ recovery attempts/)).toHaveLength(1);
  });

  it('pg_stat_activity shows whose connections they are: one application_name per role', async () => {
    expect(resolveDbosOptions({ executorId: 'x' }).database.applicationName).toBe('nestjs-dbos:x');
    await app.get(Orders).touch(); // a @Transaction outside a workflow: a connection of the @Transaction pool
    const rows = await sql<{ application_name: string }>(
      `SELECT DISTINCT application_name FROM pg_stat_activity WHERE application_name LIKE 'nestjs-dbos:hooks-exec:%' ORDER BY 1`,
    );
    expect(rows.map((r) => r.application_name)).toEqual(
      expect.arrayContaining([
        'nestjs-dbos:hooks-exec:heartbeat',
        'nestjs-dbos:hooks-exec:listen',
        'nestjs-dbos:hooks-exec:system',
        'nestjs-dbos:hooks-exec:transactions',
      ]),
    );
    const outside = await WorkflowClient.connect({ database: { url: databaseUrl(), applicationName: 'ops-script' }, schema });
    try {
      await outside.list({ limit: 1 });
      const own = await sql<{ application_name: string }>(
        `SELECT DISTINCT application_name FROM pg_stat_activity WHERE application_name LIKE 'ops-script:%' ORDER BY 1`,
      );
      expect(own.map((r) => r.application_name)).toEqual(['ops-script:listen', 'ops-script:system']);
    } finally {
      await outside.close();
    }
  });

  it('the LISTEN connection coming back is logged once', async () => {
    const killed = await sql<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'nestjs-dbos:hooks-exec:listen'`,
    );
    expect(killed.length).toBe(1);
    await waitFor(() => log.matching(/^LISTEN connection is back/).length > 0);
    await noSecondEvent();
    expect(log.matching(/^LISTEN connection is back/)).toEqual([expect.objectContaining({ context: 'DbosNotifications' })]);
  });

  it('recovered by restart recovery: fires once, logged once, with a configured application_name', async () => {
    await client.start(Orders, { workflowId: 'ev-restart' }).wait('ev-restart');
    await waitFor(() => Orders.ran.includes('ev-restart'));
    await app.close(); // the run is interrupted: the workflow stays PENDING on this executor
    app = await startApp(schema, log, { database: { url: databaseUrl(), applicationName: 'checkout-api' } });
    client = app.get(WorkflowClient);
    await waitFor(() => eventsOf('ev-restart').length > 0 && log.matching(/^Workflow ev-restart .*recovered/).length > 0);
    await noSecondEvent();
    expect(eventsOf('ev-restart')).toEqual([expect.objectContaining({ type: 'recovered', recoverySource: 'restart', status: 'PENDING' })]);
    expect(log.matching(/^Workflow ev-restart \(Orders\.wait\) recovered by restart recovery/)).toHaveLength(1);
    const names = await sql<{ application_name: string }>(
      `SELECT DISTINCT application_name FROM pg_stat_activity WHERE application_name LIKE 'checkout-api:%'`,
    );
    expect(names.map((r) => r.application_name)).toEqual(expect.arrayContaining(['checkout-api:system', 'checkout-api:listen', 'checkout-api:heartbeat']));
    await expect(client.cancel(['ev-restart', 'no-such-id'])).rejects.toThrow(DbosNotFoundError);
  });
});
