import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { firstValueFrom, toArray } from 'rxjs';
import { DbosContext, DbosNotFoundError, DbosTimeoutError, DbosWorkflowCancelledError, RecoveryService, Step, Workflow, WorkflowClient } from '../../lib';
import { DBOS_SYSTEM_DATABASE } from '../../lib/dbos.constants';
import type { DbosDatabase } from '../../lib/dbos.database';
import { beginClose, createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

const gates = new Map<string, () => void>();
const gate = (name: string) => new Promise<void>((resolve) => gates.set(name, resolve));
const open = (name: string) => gates.get(name)?.();

@Injectable()
class Messaging {
  static log: string[] = [];

  constructor(private readonly dbos: DbosContext) {}

  @Workflow() async inbox(count: number, topic?: string): Promise<unknown[]> {
    const received: unknown[] = [];
    for (let i = 0; i < count; i++) received.push(await this.dbos.recv(topic, { timeoutMs: 20_000 }));
    return received;
  }

  @Workflow() async recvWithTimeout(timeoutMs: number): Promise<{ message: unknown; waited: number }> {
    const started = Date.now();
    const message = await this.dbos.recv('nothing-comes', { timeoutMs });
    return { message, waited: Date.now() - started };
  }

  @Step() async blockUntilOpened(name: string): Promise<void> {
    Messaging.log.push(`block:${name}`);
    await gate(name);
  }

  @Workflow() async recvThenBlock(): Promise<unknown[]> {
    const first = await this.dbos.recv('q', { timeoutMs: 20_000 });
    await this.blockUntilOpened('recv-restart');
    const second = await this.dbos.recv('q', { timeoutMs: 20_000 });
    return [first, second];
  }

  @Workflow() async relay(destination: string, message: string): Promise<string> {
    await this.dbos.send(destination, message, 'relay');
    return 'sent';
  }

  @Workflow() async sendToNobody(): Promise<void> {
    await this.dbos.send('no-such-workflow', 'hello');
  }

  @Workflow() async publisher(): Promise<string> {
    await this.dbos.setEvent('status', 'started');
    await this.dbos.recv('go', { timeoutMs: 20_000 });
    await this.dbos.setEvent('status', 'done');
    return 'published';
  }

  @Workflow() async eventReader(workflowId: string): Promise<unknown> {
    return this.dbos.getEvent(workflowId, 'status', { timeoutMs: 20_000 });
  }

  @Workflow() async streamer(): Promise<string> {
    await this.dbos.writeStream('progress', { step: 0 });
    await this.dbos.recv('next', { timeoutMs: 20_000 });
    await this.dbos.writeStream('progress', { step: 1 });
    await this.dbos.closeStream('progress');
    return 'streamed';
  }

  @Workflow() async streamWithoutClose(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await this.dbos.writeStream('items', i);
  }

  @Workflow() async sleeper(ms: number): Promise<number> {
    const started = Date.now();
    await this.dbos.sleep(ms);
    return Date.now() - started;
  }
}

@Injectable()
class Family {
  static ran: string[] = [];

  constructor(private readonly dbos: DbosContext) {}

  @Step() async record(what: string): Promise<string> {
    Family.ran.push(what);
    return what;
  }

  @Step() async waitForAbort(): Promise<string> {
    Family.ran.push('waiting');
    const signal = this.dbos.abortSignal!;
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    Family.ran.push('aborted');
    throw new Error('stopped by abort');
  }

  @Workflow() async child(n: number): Promise<number> {
    await this.record(`child-${n}`);
    return n * 10;
  }

  @Workflow() async parent(): Promise<number[]> {
    const handle = await this.dbos.startWorkflow(Family).child(1);
    const direct = await this.child(2);
    return [await handle.getResult(), direct];
  }

  @Workflow() async slowChild(): Promise<void> {
    await this.waitForAbort();
  }

  @Workflow() async parentOfSlow(): Promise<void> {
    await this.dbos.startWorkflow(Family, { workflowId: 'slow-child-of-cancelled' }).slowChild();
    await this.waitForAbort();
  }

  @Workflow({ timeoutMs: 300 }) async tooSlow(): Promise<void> {
    await this.dbos.sleep(10_000);
  }

  @Workflow() async threeSteps(): Promise<string[]> {
    const a = await this.record('one');
    await this.dbos.setEvent('progress', 'after-one');
    const b = await this.record('two');
    await this.dbos.setEvent('progress', 'after-two');
    const c = await this.record('three');
    return [a, b, c];
  }

  @Workflow() async stepThenWait(): Promise<string> {
    await this.record('before-wait');
    await this.waitForAbort();
    return this.record('after-wait');
  }
}

describe('workflow communication and time', () => {
  const schema = uniqueSchema('comm');
  let app: INestApplicationContext | undefined;
  let client: WorkflowClient;

  const start = async () => {
    app = await createDbosApp([Messaging, Family], { schema, executorId: 'comm-exec', applicationVersion: 'v1' });
    client = app.get(WorkflowClient);
    return app;
  };

  beforeAll(start);
  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
  });
  beforeEach(() => {
    Family.ran = [];
    Messaging.log = [];
  });

  describe('messages', () => {
    it('recv returns messages FIFO per topic, topics isolated', async () => {
      const handle = await client.start(Messaging).inbox(3, 'orders');
      await client.send(handle.workflowId, 'other-topic', 'billing');
      for (const m of ['a', 'b', 'c']) await client.send(handle.workflowId, m, 'orders');
      await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toEqual(['a', 'b', 'c']);
      const left = await sql(`SELECT topic, message FROM "${schema}".notifications WHERE destination_id = $1`, [handle.workflowId]);
      expect(left).toEqual([{ topic: 'billing', message: '"other-topic"' }]);
    });

    it('recv returns null at its timeout', async () => {
      const handle = await client.start(Messaging).recvWithTimeout(300);
      const result = await handle.getResult({ timeoutMs: 10_000 });
      expect(result.message).toBeNull();
      expect(result.waited).toBeGreaterThanOrEqual(280);
      expect(result.waited).toBeLessThan(5_000);
    });

    it('a message to an unknown workflow is DbosNotFoundError, from a client and from a workflow', async () => {
      await expect(client.send('nobody-here', 'x')).rejects.toThrow(DbosNotFoundError);
      await expect(
        client
          .start(Messaging)
          .sendToNobody()
          .then((h) => h.getResult()),
      ).rejects.toThrow(DbosNotFoundError);
    });

    it('client.send with an idempotency key delivers once', async () => {
      const handle = await client.start(Messaging).inbox(2);
      await client.send(handle.workflowId, 'once', undefined, { idempotencyKey: 'k-1' });
      await client.send(handle.workflowId, 'once', undefined, { idempotencyKey: 'k-1' });
      await client.send(handle.workflowId, 'twice', undefined, { idempotencyKey: 'k-2' });
      await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toEqual(['once', 'twice']);
    });

    it('send from a workflow is checkpointed and delivered once', async () => {
      const receiver = await client.start(Messaging).inbox(1, 'relay');
      const sender = await client.start(Messaging).relay(receiver.workflowId, 'from-a-workflow');
      await expect(sender.getResult()).resolves.toBe('sent');
      await expect(receiver.getResult({ timeoutMs: 10_000 })).resolves.toEqual(['from-a-workflow']);
      expect((await client.listSteps(sender.workflowId)).map((s) => s.name)).toEqual(['DBOS.send']);
    });

    it('a recv survives a restart without consuming a message twice', async () => {
      const handle = await client.start(Messaging, { workflowId: 'recv-restart' }).recvThenBlock();
      await client.send('recv-restart', 'first', 'q');
      await waitFor(() => Messaging.log.includes('block:recv-restart'));
      const { closing } = await beginClose(app!); // waits for the blocked step, bounded: the workflow stays PENDING
      open('recv-restart');
      await closing;
      void handle;
      expect(await sql(`SELECT status FROM "${schema}".workflow_status WHERE workflow_id = 'recv-restart'`)).toEqual([{ status: 'PENDING' }]);
      await start();
      await client.send('recv-restart', 'second', 'q');
      await expect(client.retrieve('recv-restart').getResult({ timeoutMs: 10_000 })).resolves.toEqual(['first', 'second']);
      const recvs = (await client.listSteps('recv-restart')).filter((s) => s.name === 'DBOS.recv');
      expect(recvs.map((s) => s.output)).toEqual(['first', 'second']);
    });

    it('1,000 workflows waiting on recv at once all complete, with one LISTEN connection and the pool size unchanged', async () => {
      const database = app!.get<DbosDatabase>(DBOS_SYSTEM_DATABASE);
      const pool = database.system.pool;
      const handles = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.start(Messaging, { workflowId: `waiter-${i}` }).inbox(1, 'wake')));
      // Settled: every workflow is waiting for its message, and none of them holds a connection.
      await waitFor(() => database.listener.waiterCount === 1000 && pool.waitingCount === 0 && pool.idleCount === pool.totalCount, 30_000);
      expect(pool.totalCount).toBeLessThanOrEqual(10);
      const listeners = await sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query ILIKE 'LISTEN "dbos_%' AND pid <> pg_backend_pid()`,
      );
      expect(listeners[0].n).toBeGreaterThanOrEqual(1);
      await Promise.all(handles.map((h, i) => client.send(h.workflowId, i, 'wake')));
      const results = await Promise.all(handles.map((h) => h.getResult({ timeoutMs: 60_000 })));
      expect(results).toEqual(Array.from({ length: 1000 }, (_, i) => [i]));
      expect(pool.totalCount).toBeLessThanOrEqual(10);
    }, 120_000);
  });

  describe('events', () => {
    it('getEvent from a client waits for the value; the latest value wins', async () => {
      const handle = await client.start(Messaging).publisher();
      await expect(client.getEvent(handle.workflowId, 'status', { timeoutMs: 10_000 })).resolves.toBe('started');
      await client.send(handle.workflowId, 'go', 'go');
      await handle.getResult({ timeoutMs: 10_000 });
      await expect(client.getEvent(handle.workflowId, 'status', { timeoutMs: 10_000 })).resolves.toBe('done');
    });

    it('getEvent returns null at its timeout', async () => {
      const handle = await client.start(Messaging).inbox(0);
      await handle.getResult();
      await expect(client.getEvent(handle.workflowId, 'never', { timeoutMs: 200 })).resolves.toBeNull();
    });

    it('getEvent from a workflow is checkpointed', async () => {
      const publisher = await client.start(Messaging).publisher();
      const reader = await client.start(Messaging).eventReader(publisher.workflowId);
      await expect(reader.getResult({ timeoutMs: 10_000 })).resolves.toBe('started');
      const steps = await client.listSteps(reader.workflowId);
      expect(steps.map((s) => [s.name, s.output])).toEqual([
        ['DBOS.getEventDeadline', expect.any(Number)],
        ['DBOS.getEvent', 'started'],
      ]);
      await client.send(publisher.workflowId, 'go', 'go');
    });
  });

  describe('streams', () => {
    it('readStream yields values in order while the workflow runs and ends when the stream is closed', async () => {
      const handle = await client.start(Messaging).streamer();
      const reader = client.readStream<{ step: number }>(handle.workflowId, 'progress')[Symbol.asyncIterator]();
      await expect(reader.next()).resolves.toEqual({ value: { step: 0 }, done: false });
      expect((await handle.getStatus())!.status).toBe('PENDING');
      await client.send(handle.workflowId, 'go', 'next');
      await expect(reader.next()).resolves.toEqual({ value: { step: 1 }, done: false });
      await expect(reader.next()).resolves.toEqual({ value: undefined, done: true });
    });

    it('stream$ is the same as an Observable, and a stream ends when its workflow ends', async () => {
      const handle = await client.start(Messaging).streamWithoutClose(5);
      const values = await firstValueFrom(client.stream$<number>(handle.workflowId, 'items').pipe(toArray()));
      expect(values).toEqual([0, 1, 2, 3, 4]);
    });
  });

  describe('time', () => {
    it('sleep records its wake-up time and wakes at it', async () => {
      const handle = await client.start(Messaging).sleeper(300);
      const slept = await handle.getResult({ timeoutMs: 10_000 });
      expect(slept).toBeGreaterThanOrEqual(295);
      expect(slept).toBeLessThan(5_000);
      const [step] = await client.listSteps(handle.workflowId);
      expect(step.name).toBe('DBOS.sleep');
      expect(step.output).toBeGreaterThan(Date.now() - 10_000);
    });
  });

  describe('child workflows', () => {
    it('have deterministic ids, checkpointed starts and results, and record their parent', async () => {
      const handle = await client.start(Family, { workflowId: 'family-1' }).parent();
      await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toEqual([10, 20]);
      const steps = await client.listSteps('family-1');
      expect(steps.map((s) => [s.name, s.childWorkflowId])).toEqual([
        ['DBOS.startWorkflow', 'family-1-0'],
        ['DBOS.startWorkflow', 'family-1-1'],
        ['DBOS.getResult', undefined],
        ['DBOS.getResult', undefined],
      ]);
      expect((await client.getStatus('family-1-0'))!.parentWorkflowId).toBe('family-1');
      expect(await client.retrieve('family-1-1').getResult()).toBe(20);
    });
  });

  describe('timeouts, cancel, resume, fork', () => {
    it('a workflow past its timeout is CANCELLED and awaiters get DbosTimeoutError', async () => {
      const handle = await client.start(Family).tooSlow();
      await expect(handle.getResult({ timeoutMs: 10_000 })).rejects.toThrow(DbosTimeoutError);
      expect((await handle.getStatus())!.status).toBe('CANCELLED');
      const started = await client.start(Messaging, { timeoutMs: 200 }).sleeper(10_000);
      await expect(started.getResult({ timeoutMs: 10_000 })).rejects.toThrow(DbosTimeoutError);
    });

    it('a stored deadline survives a restart', async () => {
      await sql(
        `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, inputs, executor_id, application_version, deadline, timeout_ms, created_at, updated_at)
         VALUES ('deadline-restart', 'PENDING', 'Messaging.sleeper', '[60000]', 'comm-exec', 'v1', $1, 1000, $1, $1)`,
        [Date.now() - 1],
      );
      await app!.close();
      await start();
      await app!.get(RecoveryService).whenRecovered();
      await expect(client.retrieve('deadline-restart').getResult({ timeoutMs: 10_000 })).rejects.toThrow(DbosTimeoutError);
    });

    it('cancel stops a workflow, aborts its running step, and cascades to its children', async () => {
      const handle = await client.start(Family, { workflowId: 'cancel-parent' }).parentOfSlow();
      await waitFor(() => Family.ran.filter((r) => r === 'waiting').length === 2);
      await client.cancel('cancel-parent');
      await expect(handle.getResult({ timeoutMs: 10_000 })).rejects.toThrow(DbosWorkflowCancelledError);
      await expect(client.retrieve('slow-child-of-cancelled').getResult({ timeoutMs: 10_000 })).rejects.toThrow(DbosWorkflowCancelledError);
      expect(Family.ran.filter((r) => r === 'aborted')).toHaveLength(2);
      expect((await client.getStatus('slow-child-of-cancelled'))!.status).toBe('CANCELLED');
    });

    it('a cancel from another process (standalone client) reaches the running workflow through NOTIFY', async () => {
      const outside = await WorkflowClient.connect({ database: databaseOptions(), schema });
      try {
        const handle = await client.start(Family, { workflowId: 'cancel-remote' }).stepThenWait();
        await waitFor(() => Family.ran.includes('waiting'));
        await outside.cancel('cancel-remote');
        await waitFor(() => Family.ran.includes('aborted'));
        await expect(handle.getResult({ timeoutMs: 10_000 })).rejects.toThrow(DbosWorkflowCancelledError);
      } finally {
        await outside.close();
      }
    });

    it('resume continues a cancelled workflow from its last completed step', async () => {
      const handle = await client.start(Family, { workflowId: 'resume-me' }).stepThenWait();
      await waitFor(() => Family.ran.includes('waiting'));
      await client.cancel('resume-me');
      await expect(handle.getResult({ timeoutMs: 10_000 })).rejects.toThrow(DbosWorkflowCancelledError);
      Family.ran = [];
      const resumed = await client.resume('resume-me');
      await waitFor(() => Family.ran.includes('waiting'));
      expect(Family.ran).toEqual(['waiting']); // 'before-wait' was not run again
      await client.cancel('resume-me');
      await expect(resumed.getResult({ timeoutMs: 10_000 })).rejects.toThrow(DbosWorkflowCancelledError);
    });

    it('concurrent resumes of one workflow run it once', async () => {
      const handle = await client.start(Family, { workflowId: 'resume-race' }).stepThenWait();
      await waitFor(() => Family.ran.includes('waiting'));
      await client.cancel('resume-race');
      await handle.getResult().catch(() => undefined);
      Family.ran = [];
      await Promise.all(Array.from({ length: 5 }, () => client.resume('resume-race')));
      await waitFor(() => Family.ran.includes('waiting'));
      await quietPeriod(200, 'a second run of the resumed workflow would show now');
      expect(Family.ran).toEqual(['waiting']);
      await client.cancel('resume-race');
    });

    it('fork from step 2 reuses step 1 (and the events it published) and runs the rest', async () => {
      const original = await client.start(Family, { workflowId: 'fork-source' }).threeSteps();
      await expect(original.getResult({ timeoutMs: 10_000 })).resolves.toEqual(['one', 'two', 'three']);
      Family.ran = [];
      const forked = await client.fork('fork-source', { fromStep: 2 });
      await expect(forked.getResult({ timeoutMs: 10_000 })).resolves.toEqual(['one', 'two', 'three']);
      expect(Family.ran).toEqual(['two', 'three']);
      expect((await forked.getStatus())!.forkedFrom).toBe('fork-source');
      await expect(client.getEvent(forked.workflowId, 'progress', { timeoutMs: 1_000 })).resolves.toBe('after-two');
      const steps = await client.listSteps(forked.workflowId);
      expect(steps.map((s) => s.name)).toEqual(['Family.record', 'DBOS.setEvent', 'Family.record', 'DBOS.setEvent', 'Family.record']);
    });
  });
});
