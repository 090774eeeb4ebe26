import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Client } from 'pg';
import { DbosContext, Step, Workflow, WorkflowClient, type WorkflowHandle } from '../../lib';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

class ChildFailure extends Error {
  override name = 'ChildFailure';
}

@Injectable()
class Fan {
  constructor(private readonly dbos: DbosContext) {}

  @Step() async pass(n: number) {
    return n;
  }

  @Step() async slow(n: number) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return n;
  }

  /** Finishes with `n` once it receives 'go'. */
  @Workflow() async held(n: number) {
    await this.dbos.recv<string>('go', { timeoutMs: 60_000 });
    return this.pass(n);
  }

  @Workflow() async failing(message: string) {
    await this.pass(0);
    throw new ChildFailure(message);
  }

  @Workflow() async quick(n: number) {
    return this.slow(n);
  }

  /** Starts children [held(0), quick(1)] and returns the index of the first to finish. */
  @Workflow() async race(): Promise<number> {
    const handles = [await this.dbos.startWorkflow(Fan).held(0), await this.dbos.startWorkflow(Fan).quick(1)];
    const first = await this.dbos.waitFirst(handles);
    return handles.indexOf(first);
  }

  @Workflow() async gather(n: number, failAt: number): Promise<number[]> {
    const handles = await Promise.all(
      Array.from({ length: n }, (_, i) => (i === failAt ? this.dbos.startWorkflow(Fan).failing(`child ${i}`) : this.dbos.startWorkflow(Fan).quick(i))),
    );
    return (await this.dbos.waitAll(handles)) as number[];
  }
}

/** Counts the statements sent by connections named `applicationName` while `work` runs. */
async function statementsOf<T>(applicationName: string, work: () => Promise<T>): Promise<{ value: T; count: number }> {
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  let count = 0;
  proto.query = function (this: Client & { connectionParameters?: { application_name?: string } }, ...args: unknown[]) {
    if (this.connectionParameters?.application_name?.startsWith(`${applicationName}:`)) count++;
    return original.apply(this, args);
  };
  try {
    return { value: await work(), count };
  } finally {
    proto.query = original;
  }
}

describe('fan-out: waitAll and waitFirst', () => {
  const schema = uniqueSchema('fanout');
  let app: INestApplicationContext;
  let client: WorkflowClient;
  let remote: WorkflowClient;

  beforeAll(async () => {
    app = await createDbosApp([Fan], { schema, queues: [{ name: 'fan-q', concurrency: 10 }] });
    client = app.get(WorkflowClient);
    remote = await WorkflowClient.connect({ database: { url: databaseUrl(), applicationName: 'fan-out-waiter' }, schema });
  });
  afterAll(async () => {
    await remote.close();
    await app.close();
    await dropSchema(schema);
  });

  const startHeld = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => client.start(Fan).held(i)));
  const releaseAll = (handles: WorkflowHandle[]) => Promise.all(handles.map((h) => client.send(h.workflowId, 'go', 'go')));

  it('waitAll gives the results in the order of the handles, whatever order the workflows finish in', async () => {
    const handles = await startHeld(5);
    const all = remote.waitAll(handles);
    for (const handle of [...handles].reverse()) await client.send(handle.workflowId, 'go', 'go');
    await expect(all).resolves.toEqual([0, 1, 2, 3, 4]);
    // The same from the app's own client (its workflows run in this process).
    await expect(client.waitAll(handles)).resolves.toEqual([0, 1, 2, 3, 4]);
  });

  it('a waitAll in another process is woken by the outcomes it asked to be announced, not by its 10 s re-check', async () => {
    const handles = await startHeld(3);
    const all = remote.waitAll(handles);
    // The waiter marks the set watched after its first read: only then are their outcomes announced.
    await waitFor(
      async () =>
        (
          await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE workflow_id = ANY($1) AND outcome_watched`, [
            handles.map((h) => h.workflowId),
          ])
        )[0].n === 3,
      { what: 'the three marked watched' },
    );
    const releasedAt = Date.now();
    await releaseAll(handles);
    await expect(all).resolves.toEqual([0, 1, 2]);
    expect(Date.now() - releasedAt).toBeLessThan(5_000);
  });

  it('waitAll rejects with the first failure, as that handle getResult() throws it, without waiting for the rest', async () => {
    const held = await startHeld(2);
    const failing = await client.start(Fan).failing('boom');
    const thrown = await remote.waitAll([held[0], failing, held[1]]).catch((err: unknown) => err);
    const expected = await failing.getResult().catch((err: unknown) => err);
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).name).toBe('ChildFailure');
    expect((thrown as Error).message).toBe((expected as Error).message);
    expect((thrown as Error).constructor).toBe((expected as Error).constructor);
    // The other two were still running: the rejection did not wait for them.
    expect((await held[0].getStatus())?.status).toBe('PENDING');
    await releaseAll(held);
  });

  it('without LISTEN (behind a transaction pooler) the set is re-read every pollIntervalMs', async () => {
    const polling = await WorkflowClient.connect({ database: { url: databaseUrl(), pooler: 'transaction', pollIntervalMs: 50 }, schema });
    try {
      const handles = await startHeld(3);
      const all = polling.waitAll(handles);
      await releaseAll(handles);
      await expect(all).resolves.toEqual([0, 1, 2]);
    } finally {
      await polling.close();
    }
  });

  it('waitFirst resolves with the handle of the first workflow to finish', async () => {
    const handles = await startHeld(3);
    const first = remote.waitFirst(handles);
    await client.send(handles[1].workflowId, 'go', 'go');
    await expect(first).resolves.toBe(handles[1]);
    await releaseAll([handles[0], handles[2]]);
  });

  it('an unknown id rejects with DbosNotFoundError; an empty set with DbosInvalidArgumentError', async () => {
    const [known] = await startHeld(1);
    await expect(remote.waitAll([known, remote.retrieve('no-such-fan-child')])).rejects.toThrow(/No workflow has the id "no-such-fan-child"/);
    await expect(remote.waitFirst([])).rejects.toThrow(/non-empty array of workflow handles/);
    await releaseAll([known]);
  });

  it('a timeout rejects with DbosTimeoutError naming a workflow still running', async () => {
    const handles = await startHeld(2);
    await expect(remote.waitAll(handles, { timeoutMs: 200 })).rejects.toThrow(/not finished within the wait given to waitAll\/waitFirst/);
    await releaseAll(handles);
  });

  it('1,000 handles are awaited by one waiter: far fewer reads than handles, and no subscription left behind', async () => {
    const n = 1000;
    const handles = await Promise.all(Array.from({ length: n }, (_, i) => client.start(Fan, { queue: 'fan-q' }).quick(i)));
    const listener = (remote as unknown as { backend: { listener: { waiterCount: number } } }).backend.listener;
    const { value, count } = await statementsOf('fan-out-waiter', () => remote.waitAll(handles));
    expect(value).toEqual(Array.from({ length: n }, (_, i) => i));
    // One read per wake over the set, however many handles it notified (a wait per handle sends at least one statement per handle).
    expect(count).toBeLessThan(n / 2);
    expect(listener.waiterCount).toBe(0);
  });

  it('in a workflow waitAll is one checkpoint holding the results, and rejects with the first failure', async () => {
    const ok = await client.start(Fan).gather(20, -1);
    await expect(ok.getResult()).resolves.toEqual(Array.from({ length: 20 }, (_, i) => i));
    const steps = await client.listSteps(ok.workflowId);
    expect(steps.map((s) => s.name)).toEqual([...Array.from({ length: 20 }, () => 'DBOS.startWorkflow'), 'DBOS.waitAll']);
    expect(steps[20].output).toEqual(Array.from({ length: 20 }, (_, i) => i));

    const failed = await client.start(Fan).gather(5, 3);
    await expect(failed.getResult()).rejects.toThrow('child 3');
    const failedSteps = await client.listSteps(failed.workflowId);
    expect(failedSteps[5]).toMatchObject({ name: 'DBOS.waitAll' });
    expect(String((failedSteps[5].error as Error | undefined)?.message)).toBe('child 3');
  });

  it('in a workflow the winner of waitFirst is checkpointed: a re-run from the record returns the same winner', async () => {
    const parent = await client.start(Fan).race();
    await expect(parent.getResult()).resolves.toBe(1);
    // Now both children finished: a wait done again would pick the first in order, held(0).
    const heldChild = `${parent.workflowId}-0`;
    await client.send(heldChild, 'go', 'go');
    await expect(client.retrieve(heldChild).getResult()).resolves.toBe(0);
    // A fork from after the waitFirst replays the recorded operations, waitFirst included.
    const steps = await client.listSteps(parent.workflowId);
    expect(steps.map((s) => s.name)).toEqual(['DBOS.startWorkflow', 'DBOS.startWorkflow', 'DBOS.waitFirst']);
    const fork = await client.fork(parent.workflowId, { fromStep: 3 });
    await expect(fork.getResult()).resolves.toBe(1);
    // Forked from before it, the wait runs again and finds both finished: the first in order wins.
    const rerun = await client.fork(parent.workflowId, { fromStep: 2 });
    await expect(rerun.getResult()).resolves.toBe(0);
    await waitFor(async () => (await fork.getStatus())?.status === 'SUCCESS', { what: 'the fork to finish' });
  });
});
