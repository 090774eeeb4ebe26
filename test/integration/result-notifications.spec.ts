import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, Step, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { statementsDuring } from '../support/statements';
import { databaseUrl, dropSchema, uniqueSchema } from '../support/database';
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

describe('the announcement of a finished workflow', () => {
  const schema = uniqueSchema('finnotify');
  let app: INestApplicationContext;
  let remote: WorkflowClient;

  beforeAll(async () => {
    app = await createDbosApp([Gate], { schema });
    remote = await WorkflowClient.connect({ database: { url: databaseUrl() }, schema });
  });
  afterAll(async () => {
    await remote.close();
    await app.close();
    await dropSchema(schema);
  });

  it('a workflow finishing here does not make this process check the status of its own runs', async () => {
    const gate = app.get(Gate);
    const sent = await statementsDuring(schema, async () => {
      await Promise.all(Array.from({ length: 40 }, (_, i) => gate.quick(i)));
      // Its notifications arrive in a few milliseconds (the LISTEN connection is idle).
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    // The check of a remote status change (a cancel elsewhere) reads the runs' rows: none is needed here.
    expect(sent.filter((text) => text.startsWith('SELECT w.workflow_id, w.status, w.error, w.cancel_root'))).toEqual([]);
  });

  it('a waiter in another process is woken by the outcome, not by its safety poll', async () => {
    const handle = await app.get(WorkflowClient).start(Gate, { workflowId: 'fin-remote' }).held();
    const result = remote.retrieve<number>('fin-remote').getResult({ timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
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
