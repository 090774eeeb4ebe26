import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DbosContext, Workflow, WorkflowClient } from '../../lib';
import { notificationChannel } from '../../lib/system-database/schema-name.util';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, uniqueSchema } from '../support/database';
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

  /** Waits, in a workflow, for another workflow's event. */
  @Workflow()
  async await(workflowId: string, key: string) {
    return this.dbos.getEvent<string>(workflowId, key, { timeoutMs: 30_000 });
  }
}

const reads = (sent: string[]) => sent.filter((s) => /^SELECT value FROM "[^"]+"\.workflow_events /.test(s));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)); // deliberate: let a getEvent look and wait

// setEvent's statement notifies the value it wrote (`evtv:`), so a getEvent waiting for it has it
// without reading it back; values too large for a notification are read as before.
describe('event notices', () => {
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

  it('a getEvent waiting when the event is set takes the value from the notification: one read (the look before the wait), none after', async () => {
    const handle = await client.start(Events, { workflowId: 'notice-1' }).announce(['k'], ['v1']);
    const sent = await statementsDuring(schema, async () => {
      const waiting = client.getEvent<string>('notice-1', 'k', { timeoutMs: 10_000 });
      await pause(200);
      await client.send('notice-1', null, 'go');
      expect(await waiting).toBe('v1');
    });
    await handle.getResult();
    expect(reads(sent)).toHaveLength(1);
  });

  it('a value too large for a notification is set, and a waiting getEvent reads it after the plain notice', async () => {
    const large = 'x'.repeat(20_000);
    const handle = await client.start(Events, { workflowId: 'notice-2' }).announce(['big'], [large]);
    const sent = await statementsDuring(schema, async () => {
      const waiting = client.getEvent<string>('notice-2', 'big', { timeoutMs: 10_000 });
      await pause(200);
      await client.send('notice-2', null, 'go');
      expect(await waiting).toBe(large);
    });
    expect(await handle.getResult()).toBe(1);
    expect(reads(sent)).toHaveLength(2);
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

  it('with encryption on, the notice carries the stored (encrypted) value, and getEvent the plaintext', async () => {
    const encrypted = uniqueSchema('evtnoticeenc');
    const encApp = await createDbosApp([Events], { schema: encrypted, encryption: { key: randomBytes(32) } });
    const heard: string[] = [];
    const listener = new Client({ connectionString: databaseUrl() });
    try {
      await listener.connect();
      listener.on('notification', (n) => heard.push(n.payload ?? ''));
      await listener.query(`LISTEN "${notificationChannel(encrypted)}"`);
      const encClient = encApp.get(WorkflowClient);
      const handle = await encClient.start(Events, { workflowId: 'notice-enc' }).announce(['secret'], ['plaintext-card-4242']);
      const waiting = encClient.getEvent<string>('notice-enc', 'secret', { timeoutMs: 10_000 });
      await pause(200);
      await encClient.send('notice-enc', null, 'go');
      expect(await waiting).toBe('plaintext-card-4242');
      await handle.getResult();
      await pause(100);
      const notices = heard.filter((p) => p.startsWith('evtv:'));
      expect(notices).toHaveLength(1);
      expect(notices[0]).toContain('notice-enc');
      expect(notices[0]).not.toContain('plaintext-card-4242');
    } finally {
      await listener.end();
      await encApp.close();
      await dropSchema(encrypted);
    }
  });
});
