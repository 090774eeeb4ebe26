import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Client } from 'pg';
import { DbosContext, DbosSerializationError, Step, Workflow, WorkflowClient } from '../../lib';
import { DBOS_SYSTEM_DATABASE } from '../../lib/dbos.constants';
import type { DbosDatabase } from '../../lib/dbos.database';
import type { NotificationListener } from '../../lib/system-database/notification.listener';
import { notificationChannel } from '../../lib/system-database/schema-name.util';
import { createDbosApp } from '../support/app';
import { statementsDuring } from '../support/statements';
import { databaseUrl, dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

/** Counts the checks of `client`'s waits that found nothing yet: after one, that waiter sleeps until a notification (or its 10 s poll). */
function emptyChecksOf(client: WorkflowClient): { count: number } {
  const listener = (client as unknown as { backend: { listener: NotificationListener } }).backend.listener;
  const waitUntil = listener.waitUntil.bind(listener);
  const counter = { count: 0 };
  listener.waitUntil = <T>(keys: string[], check: () => Promise<T | undefined>, deadline?: number, signal?: AbortSignal) =>
    waitUntil(
      keys,
      async () => {
        const value = await check();
        if (value === undefined) counter.count++;
        return value;
      },
      deadline,
      signal,
    );
  return counter;
}

@Injectable()
class Gate {
  constructor(private readonly dbos: DbosContext) {}

  @Step() async pass(n: number) {
    return n;
  }

  @Workflow() async quick(n: number) {
    return this.pass(n);
  }

  /** Finishes once it receives 'go'. */
  @Workflow() async held() {
    const go = await this.dbos.recv<string>('go', { timeoutMs: 60_000 });
    return this.pass(go === null ? -1 : 1);
  }
}

describe('the announcement of a finished workflow', () => {
  const schema = uniqueSchema('finnotify');
  let app: INestApplicationContext;
  let remote: WorkflowClient;
  let remoteEmptyChecks: { count: number };
  // What any process LISTENing on the schema's channel hears.
  let ear: Client;
  const heard: string[] = [];

  beforeAll(async () => {
    app = await createDbosApp([Gate], { schema, queues: [{ name: 'fin-q' }] });
    remote = await WorkflowClient.connect({ database: databaseOptions(), schema });
    remoteEmptyChecks = emptyChecksOf(remote);
    ear = new Client({ connectionString: databaseUrl() });
    await ear.connect();
    ear.on('notification', (message) => heard.push(message.payload ?? ''));
    await ear.query(`LISTEN "${notificationChannel(schema)}"`);
  });
  afterAll(async () => {
    await ear.end();
    await remote.close();
    await app.close();
    await dropSchema(schema);
  });

  /** The ids announced finished in what was heard, and how many messages announced them. */
  function announced(): { ids: string[]; messages: number } {
    const ids: string[] = [];
    let messages = 0;
    for (const payload of heard) {
      if (payload.startsWith('statuses:')) {
        ids.push(...(JSON.parse(payload.slice('statuses:'.length)) as string[]));
        messages++;
      } else if (payload.startsWith('status:')) {
        ids.push(payload.slice('status:'.length));
        messages++;
      }
    }
    return { ids, messages };
  }

  /**
   * Starts a held workflow of each id, marks them watched (as a waiter in another process does:
   * only those outcomes are announced on the channel), lets them all go in one tick and waits until
   * every one is finished and announced.
   */
  async function finishTogether(ids: string[]): Promise<void> {
    const client = app.get(WorkflowClient);
    const handles = await Promise.all(ids.map((workflowId) => client.start(Gate, { workflowId }).held()));
    const pending = async () =>
      (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE workflow_id = ANY($1) AND status = 'PENDING'`, [ids]))[0].n;
    await waitFor(async () => (await pending()) === ids.length, { what: 'every held workflow PENDING' });
    await sql(`UPDATE "${schema}".workflow_status SET outcome_watched = true WHERE workflow_id = ANY($1)`, [ids]);
    await Promise.all(ids.map((id) => remote.send(id, 'now', 'go')));
    await Promise.all(handles.map((h) => h.getResult()));
    await waitFor(() => ids.every((id) => announced().ids.includes(id)));
  }

  it('an outcome no other process waits for is not announced on the channel; this process still hears it', async () => {
    const notified: string[] = [];
    (app.get(DBOS_SYSTEM_DATABASE) as DbosDatabase).listener.onAny((key) => notified.push(key));
    heard.length = 0;
    const ids = Array.from({ length: 10 }, (_, i) => `fin-quiet-${i}`);
    const client = app.get(WorkflowClient);
    await Promise.all(
      ids.map((workflowId, i) =>
        client
          .start(Gate, { workflowId })
          .quick(i)
          .then((h) => h.getResult()),
      ),
    );
    await waitFor(() => ids.every((id) => notified.includes(`status:${id}`)), { what: "this process's listener told of the 10 outcomes" });
    // A later announcement, of a watched outcome, shows the channel was heard up to there.
    await finishTogether(['fin-quiet-after']);
    expect(announced().ids).toEqual(['fin-quiet-after']);
  });

  it('outcomes written together are announced together: one message per statement, not one per workflow', async () => {
    heard.length = 0;
    const ids = Array.from({ length: 40 }, (_, i) => `fin-batch-${i}`);
    await finishTogether(ids);
    const { messages } = announced();
    // 40 workflows started in one tick finish in a few batched statements; each announces its batch once.
    expect(messages).toBeLessThan(ids.length);
    expect(messages).toBeGreaterThan(0);
  });

  it('a long batch of outcomes is split under the 8000-byte payload limit', async () => {
    heard.length = 0;
    // 32 ids of 255 characters (with characters JSON escapes) finish in one statement at most.
    const long = (i: number) => `${'"\\'.repeat(40)}${String(i).padStart(3, '0')}`.padEnd(255, 'x');
    const ids = Array.from({ length: 32 }, (_, i) => long(i));
    await finishTogether(ids);
    for (const payload of heard) expect(Buffer.byteLength(payload)).toBeLessThan(8000);
  });

  it('a queued workflow finishing announces the slot it frees on its queue (watched or not)', async () => {
    const handle = await app.get(WorkflowClient).start(Gate, { workflowId: 'fin-queued', queue: 'fin-q' }).held();
    await waitFor(async () => (await handle.getStatus())?.status === 'PENDING');
    heard.length = 0;
    await remote.send('fin-queued', 'now', 'go');
    await expect(handle.getResult()).resolves.toBe(1);
    await waitFor(() => heard.includes('queue:fin-q'));
  });

  it('an outcome written as a process of an earlier version writes it (no announced_epoch) is announced by the trigger', async () => {
    const now = Date.now();
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, inputs, executor_id, application_version, created_at, updated_at, queue_name)
       VALUES ('fin-old-writer', 'PENDING', 'Gate.quick', '[1]', 'old-exec', 'v0', $1, $1, 'fin-q')`,
      [now],
    );
    const checked = remoteEmptyChecks.count;
    const result = remote.retrieve<number>('fin-old-writer').getResult({ timeoutMs: 30_000 });
    await waitFor(() => remoteEmptyChecks.count > checked, { what: 'the remote waiter asleep on fin-old-writer' });
    heard.length = 0;
    const writtenAt = Date.now();
    // The outcome statement of the version before the announcing statements.
    await sql(
      `UPDATE "${schema}".workflow_status SET status = 'SUCCESS', output = '7', updated_at = $1, deduplication_id = NULL
        WHERE workflow_id = 'fin-old-writer' AND status = 'PENDING'`,
      [Date.now()],
    );
    await expect(result).resolves.toBe(7);
    expect(Date.now() - writtenAt).toBeLessThan(5_000);
    await waitFor(() => heard.includes('status:fin-old-writer') && heard.includes('queue:fin-q'));
  });

  it('an ERROR recorded by the executor that would run the workflow (its inputs are corrupt) wakes a waiter elsewhere', async () => {
    const now = Date.now();
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, inputs, executor_id, application_version, created_at, updated_at)
       VALUES ('fin-corrupt', 'PENDING', 'Gate.quick', '{not json', 'fin-exec', 'v1', $1, $1)`,
      [now],
    );
    const checked = remoteEmptyChecks.count;
    const result = remote
      .retrieve('fin-corrupt')
      .getResult({ timeoutMs: 30_000 })
      .catch((e: Error) => e);
    await waitFor(() => remoteEmptyChecks.count > checked, { what: 'the remote waiter asleep on fin-corrupt' });
    const startedAt = Date.now();
    const restarted = await createDbosApp([Gate], { schema, executorId: 'fin-exec', applicationVersion: 'v1' });
    try {
      expect(await result).toBeInstanceOf(DbosSerializationError);
      // The safety poll is 10 s; the announcement takes milliseconds.
      expect(Date.now() - startedAt).toBeLessThan(5_000);
    } finally {
      await restarted.close();
    }
  });

  it('a workflow finishing here does not make this process check the status of its own runs', async () => {
    const gate = app.get(Gate);
    const notified: string[] = [];
    (app.get(DBOS_SYSTEM_DATABASE) as DbosDatabase).listener.onAny((key) => notified.push(key));
    const sent = await statementsDuring(schema, async () => {
      await Promise.all(Array.from({ length: 40 }, (_, i) => gate.quick(i)));
      // Its notifications reach this process's listener, then a check they prompted would be sent.
      await waitFor(() => notified.filter((key) => key.startsWith('status:')).length >= 40, { what: 'the 40 outcomes notified to this process' });
      await quietPeriod(300, 'a status check prompted by the notifications would be sent now');
    });
    // The check of a remote status change (a cancel elsewhere) reads the runs' rows: none is needed here.
    expect(sent.filter((text) => text.startsWith('SELECT w.workflow_id, w.status, w.error, w.cancel_root'))).toEqual([]);
  });

  it('a waiter in another process is woken by the outcome, not by its safety poll', async () => {
    const handle = await app.get(WorkflowClient).start(Gate, { workflowId: 'fin-remote' }).held();
    const checked = remoteEmptyChecks.count;
    const result = remote.retrieve<number>('fin-remote').getResult({ timeoutMs: 30_000 });
    await waitFor(() => remoteEmptyChecks.count > checked, { what: 'the remote waiter asleep on fin-remote' });
    const sentAt = Date.now();
    await remote.send('fin-remote', 'now', 'go');
    await expect(result).resolves.toBe(1);
    // The safety poll is 10 s; the notification takes milliseconds.
    expect(Date.now() - sentAt).toBeLessThan(5_000);
    await expect(handle.getResult()).resolves.toBe(1);
  });

  it('a cancel from another process stops the run here', async () => {
    const handle = await app.get(WorkflowClient).start(Gate, { workflowId: 'fin-cancel' }).held();
    await waitFor(async () => (await handle.getStatus())?.status === 'PENDING');
    await remote.cancel('fin-cancel');
    await expect(handle.getResult()).rejects.toThrow(/cancel/i);
  });
});
