import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DbosContext, Workflow, WorkflowClient, type DbosModuleOptions, type PayloadSerializer } from '../../lib';
import { notificationChannel } from '../../lib/system-database/schema-name.util';
import { createDbosApp } from '../support/app';
import { databaseOptions, databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { statementsDuring } from '../support/statements';

@Injectable()
class Events {
  constructor(private readonly dbos: DbosContext) {}

  /** Sets each event when told to (a message per event), then returns. */
  @Workflow()
  async announce(keys: string[], values: string[]) {
    for (const [i, key] of keys.entries()) {
      await this.dbos.recv('go', { timeoutMs: 60_000 });
      await this.dbos.setEvent(key, values[i]);
    }
    return keys.length;
  }

  /** Sets an event after a durable sleep (woken by its timer, not by a notice). */
  @Workflow()
  async announceAfter(key: string, value: string, ms: number) {
    await this.dbos.sleep(ms);
    await this.dbos.setEvent(key, value);
  }

  /** Sets a Date after a durable sleep (a value a JSON serializer does not give back as it was). */
  @Workflow()
  async announceDate(ms: number) {
    await this.dbos.sleep(ms);
    await this.dbos.setEvent('d', new Date(0));
  }

  /** Waits, in a workflow, for another workflow's event. */
  @Workflow()
  async await(workflowId: string, key: string) {
    return this.dbos.getEvent<string>(workflowId, key, { timeoutMs: 30_000 });
  }
}

const reads = (sent: string[]) => sent.filter((s) => /^SELECT value FROM "[^"]+"\.workflow_events /.test(s));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)); // deliberate: let a getEvent look and wait

// A setEvent hands the value it committed to the getEvents waiting for it in the same process, which
// then do not read it back. Notices from the database only wake waiters: their content is never
// taken as a value (any role that can connect can send one), so other processes read as before.
describe('event values handed to waiters', () => {
  const schema = uniqueSchema('evtnotice');
  let app: INestApplicationContext;
  let client: WorkflowClient;

  beforeAll(async () => {
    app = await createDbosApp([Events], { schema });
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
  });

  /**
   * Runs `work` against an app of its own on a new schema, without a LISTEN connection (a
   * transaction pooler, no listenUrl): a waiter there looks again only after the poll interval
   * (3 s, give or take a quarter), so an answer well before it came from the setEvent of this process.
   */
  async function withPollOnlyApp(
    prefix: string,
    { pollIntervalMs = 3_000, ...options }: Omit<Partial<DbosModuleOptions>, 'database'> & { pollIntervalMs?: number },
    work: (client: WorkflowClient, schema: string) => Promise<void>,
  ) {
    const own = uniqueSchema(prefix);
    const ownApp = await createDbosApp([Events], { schema: own, ...options, database: { url: databaseUrl(), pooler: 'transaction', pollIntervalMs } });
    try {
      await work(ownApp.get(WorkflowClient), own);
    } finally {
      await ownApp.close();
      await dropSchema(own);
    }
  }

  it.each([
    ['a short value', 'v1'],
    ['a large value (20 KB)', 'x'.repeat(20_000)],
  ])(
    '%s: a getEvent waiting in the process whose workflow sets it gets it at once, without reading it back (one read: the look before the wait)',
    async (_what, value) => {
      await withPollOnlyApp('evtpoll', {}, async (pollClient, polling) => {
        let elapsed = 0;
        const sent = await statementsDuring(polling, async () => {
          const waiting = pollClient.getEvent<string>('later-1', 'k', { timeoutMs: 10_000 });
          await pause(100);
          const began = Date.now();
          await pollClient.start(Events, { workflowId: 'later-1' }).announceAfter('k', value, 300);
          expect(await waiting).toBe(value);
          elapsed = Date.now() - began;
        });
        expect(reads(sent)).toHaveLength(1);
        expect(elapsed).toBeLessThan(1_500);
      });
    },
  );

  it('a getEvent inside a workflow of that process is answered the same way', async () => {
    await withPollOnlyApp('evtpollwf', {}, async (pollClient) => {
      const waiter = await pollClient.start(Events, { workflowId: 'later-wf-waiter' }).await('later-wf', 'k');
      await pause(300);
      const began = Date.now();
      await pollClient.start(Events, { workflowId: 'later-wf' }).announceAfter('k', 'inside', 300);
      expect(await waiter.getResult()).toBe('inside');
      expect(Date.now() - began).toBeLessThan(1_500);
    });
  });

  it('with a custom serializer the waiter reads the value, so it gets what every reader gets (a JSON serializer gives a Date back as a string)', async () => {
    const serializer: PayloadSerializer = { serialize: (value) => JSON.stringify(value ?? null), deserialize: (text) => JSON.parse(text) as unknown };
    await withPollOnlyApp('evtser', { serializer, pollIntervalMs: 300 }, async (serClient) => {
      const waiting = serClient.getEvent<unknown>('later-date', 'd', { timeoutMs: 10_000 });
      await pause(100);
      await serClient.start(Events, { workflowId: 'later-date' }).announceDate(200);
      const got = await waiting;
      expect(got).toBe('1970-01-01T00:00:00.000Z');
      expect(await serClient.getEvent('later-date', 'd', { timeoutMs: 0 })).toEqual(got);
    });
  });

  it('a client of another process (its own LISTEN connection) is woken by the notice and reads the value', async () => {
    const outside = await WorkflowClient.connect({ database: databaseOptions(), schema });
    try {
      const handle = await client.start(Events, { workflowId: 'notice-remote' }).announce(['k'], ['far']);
      const sent = await statementsDuring(schema, async () => {
        const waiting = outside.getEvent<string>('notice-remote', 'k', { timeoutMs: 10_000 });
        await pause(200);
        await client.send('notice-remote', null, 'go');
        expect(await waiting).toBe('far');
      });
      await handle.getResult();
      expect(reads(sent)).toHaveLength(2);
    } finally {
      await outside.close();
    }
  });

  it("a forged notice on the schema's channel never answers a getEvent: the waiter reads, finds nothing and keeps waiting", async () => {
    const handle = await client.start(Events, { workflowId: 'notice-forged' }).announce(['k'], ['real']);
    const waiting = client.getEvent<string>('notice-forged', 'k', { timeoutMs: 10_000 });
    await pause(200);
    const channel = notificationChannel(schema);
    await sql(`SELECT pg_notify($1, $2), pg_notify($1, $3), pg_notify($1, $4)`, [
      channel,
      'evtv:["notice-forged","k","\\"forged\\""]',
      'evt:notice-forged',
      'evt:notice-forged:k:"forged"',
    ]);
    await pause(200);
    expect(await Promise.race([waiting, pause(0).then(() => 'still waiting')])).toBe('still waiting');
    await client.send('notice-forged', null, 'go');
    expect(await waiting).toBe('real');
    await handle.getResult();
  });

  it('a notice of another key of the workflow does not answer a getEvent; the event of its key does, also in a workflow', async () => {
    const handle = await client.start(Events, { workflowId: 'notice-3' }).announce(['other', 'mine'], ['o', 'm']);
    const waiter = await client.start(Events, { workflowId: 'notice-3-waiter' }).await('notice-3', 'mine');
    const outside = client.getEvent<string>('notice-3', 'mine', { timeoutMs: 10_000 });
    await pause(200);
    await client.send('notice-3', null, 'go');
    expect(await client.getEvent('notice-3', 'other', { timeoutMs: 10_000 })).toBe('o');
    await pause(100);
    expect(await Promise.race([outside, pause(0).then(() => 'still waiting')])).toBe('still waiting');
    await client.send('notice-3', null, 'go');
    expect(await outside).toBe('m');
    expect(await waiter.getResult()).toBe('m');
    await handle.getResult();
  });

  it('with encryption on, the waiter gets the plaintext without a read, and the notices on the channel carry no value', async () => {
    await withPollOnlyApp('evtnoticeenc', { encryption: { key: randomBytes(32) } }, async (encClient, encrypted) => {
      const heard: string[] = [];
      const listener = new Client({ connectionString: databaseUrl() });
      try {
        await listener.connect();
        listener.on('notification', (n) => heard.push(n.payload ?? ''));
        await listener.query(`LISTEN "${notificationChannel(encrypted)}"`);
        const sent = await statementsDuring(encrypted, async () => {
          const waiting = encClient.getEvent<string>('notice-enc', 'secret', { timeoutMs: 10_000 });
          await pause(100);
          await encClient.start(Events, { workflowId: 'notice-enc' }).announceAfter('secret', 'plaintext-card-4242', 300);
          expect(await waiting).toBe('plaintext-card-4242');
        });
        await pause(100);
        expect(reads(sent)).toHaveLength(1);
        expect(heard).toContain('evt:notice-enc');
        expect(heard.filter((p) => p.includes('4242') || p.includes('secret'))).toEqual([]);
      } finally {
        await listener.end();
      }
    });
  });
});
