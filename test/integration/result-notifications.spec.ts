import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Client } from 'pg';
import { DbosContext, Step, Workflow, WorkflowClient } from '../../lib';
import { notificationChannel } from '../../lib/system-database/schema-name.util';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

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

describe('a finished workflow is announced only to those who wait for it elsewhere', () => {
  const schema = uniqueSchema('watched');
  let app: INestApplicationContext;
  let remote: WorkflowClient;
  let listen: Client;
  const heard: string[] = [];

  beforeAll(async () => {
    app = await createDbosApp([Gate], { schema });
    remote = await WorkflowClient.connect({ database: { url: databaseUrl() }, schema });
    listen = new Client({ connectionString: databaseUrl() });
    await listen.connect();
    listen.on('notification', (n) => heard.push(n.payload ?? ''));
    await listen.query(`LISTEN "${notificationChannel(schema)}"`);
  });
  afterAll(async () => {
    await listen.end();
    await remote.close();
    await app.close();
    await dropSchema(schema);
  });

  it('a workflow awaited where it runs sends no notification when it finishes', async () => {
    heard.length = 0;
    const gate = app.get(Gate);
    for (let i = 0; i < 20; i++) await gate.quick(i);
    const handle = await app.get(WorkflowClient).start(Gate, { workflowId: 'watched-local' }).quick(1);
    await expect(handle.getResult()).resolves.toBe(1);
    // A notification of one of those would be here by now (the LISTEN connection is idle).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heard.filter((p) => p.startsWith('status'))).toEqual([]);
  });

  it('a waiter in another process is woken by its outcome, not by its safety poll', async () => {
    heard.length = 0;
    const handle = await app.get(WorkflowClient).start(Gate, { workflowId: 'watched-remote' }).held();
    const result = remote.retrieve<number>('watched-remote').getResult({ timeoutMs: 30_000 });
    // The remote waiter has marked the row before it read the status.
    await waitFor(async () => (await sql(`SELECT 1 FROM "${schema}".workflow_status WHERE workflow_id = 'watched-remote' AND result_watched`)).length > 0);
    const sentAt = Date.now();
    await remote.send('watched-remote', 'now', 'go');
    await expect(result).resolves.toBe(1);
    // The safety poll is 10 s; the notification takes milliseconds.
    expect(Date.now() - sentAt).toBeLessThan(5_000);
    await expect(handle.getResult()).resolves.toBe(1);
    await waitFor(() => heard.includes('status:watched-remote'));
    expect(heard.filter((p) => p.startsWith('status'))).toEqual(['status:watched-remote']);
  });

  it('a cancel is announced with nobody waiting: the process running the workflow stops it', async () => {
    heard.length = 0;
    const handle = await app.get(WorkflowClient).start(Gate, { workflowId: 'watched-cancel' }).held();
    await waitFor(async () => (await handle.getStatus())?.status === 'PENDING');
    await remote.cancel('watched-cancel');
    await waitFor(() => heard.includes('status:watched-cancel'));
    await expect(handle.getResult()).rejects.toThrow(/cancel/i);
  });
});
