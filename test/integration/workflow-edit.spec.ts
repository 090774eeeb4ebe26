import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosConflictError, DbosContext, DbosInvalidArgumentError, DbosNotFoundError, Step, Workflow, WorkflowClient } from '../../lib';
import { RunningWorkflows } from '../../lib/execution/running-workflows.table';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

const gates = new Map<string, () => void>();
const openGate = (name: string) => gates.get(name)?.();

/** Every table holding rows of one workflow, with the column naming it. */
const OWNED_TABLES = [
  ['workflow_status', 'workflow_id'],
  ['operation_outputs', 'workflow_id'],
  ['workflow_events', 'workflow_id'],
  ['workflow_events_history', 'workflow_id'],
  ['streams', 'workflow_id'],
  ['notifications', 'destination_id'],
  ['message_keys', 'destination_id'],
  ['step_attempts', 'workflow_id'],
  ['debounce', 'workflow_id'],
] as const;

@Injectable()
class Jobs {
  static started: string[] = [];
  static afterGate: string[] = [];
  static failedOnce = new Set<string>();

  constructor(private readonly dbos: DbosContext) {}

  /** Waits for its gate and ignores its signal: a step a cancel cannot interrupt. */
  @Step() async hold(gate: string | null): Promise<void> {
    Jobs.started.push(this.dbos.workflowId!);
    if (!gate) return;
    await new Promise<void>((resolve) => gates.set(gate, resolve));
    Jobs.afterGate.push(this.dbos.workflowId!);
    await this.dbos.writeStream('late', 'written after the gate');
  }

  @Step() async after(): Promise<void> {
    Jobs.afterGate.push(`${this.dbos.workflowId!}:next step`);
  }

  @Workflow() async job(gate: string | null): Promise<string> {
    await this.hold(gate);
    await this.after();
    return 'done';
  }

  /** Fails its first attempt in each workflow: the retry leaves a row in step_attempts. */
  @Step({ retries: { maxAttempts: 3, intervalMs: 10 } }) async flaky(): Promise<void> {
    const id = this.dbos.workflowId!;
    if (Jobs.failedOnce.has(id)) return;
    Jobs.failedOnce.add(id);
    throw new Error('first attempt fails');
  }

  /** Leaves a row in every owned table (started by debounce, so its key has a row; the message and its key are sent by the test). */
  @Workflow() async owner(): Promise<string> {
    await this.hold(null);
    await this.flaky();
    await this.dbos.setEvent('state', 'ready');
    await this.dbos.writeStream('progress', 1);
    await this.dbos.closeStream('progress');
    const child = await this.dbos.startWorkflow(Jobs, { workflowId: `${this.dbos.workflowId!}-child` }).owned();
    return child.getResult();
  }

  @Workflow() async owned(): Promise<string> {
    await this.dbos.setEvent('child', 'here');
    return 'child done';
  }
}

describe('queued-workflow control (setPriority, setDelay) and delete', () => {
  const schema = uniqueSchema('wfedit');
  let app: INestApplicationContext;
  let client: WorkflowClient;

  const status = async (id: string) => (await client.getStatus(id))?.status;
  const ownedRows = async (id: string) => {
    const counts: Record<string, number> = {};
    for (const [table, column] of OWNED_TABLES) {
      const [row] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".${table} WHERE ${column} = $1`, [id]);
      counts[table] = row.n;
    }
    return counts;
  };
  const none = Object.fromEntries(OWNED_TABLES.map(([table]) => [table, 0]));

  /** The id of a finished `owner` workflow (debounced under `key`) with rows in every owned table; its finished child is `<id>-child`. */
  const finishedOwner = async (key: string) => {
    const handle = await client.debounce(key, { periodMs: 50 }, Jobs).owner();
    await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toBe('child done');
    const id = handle.workflowId;
    await client.send(id, 'never read', 'unread', { idempotencyKey: 'k-1' });
    for (const count of Object.values(await ownedRows(id))) expect(count).toBeGreaterThan(0);
    return id;
  };

  beforeAll(async () => {
    app = await createDbosApp([Jobs], {
      schema,
      queues: [
        { name: 'ranked', workerConcurrency: 1, priorityEnabled: true },
        { name: 'open', workerConcurrency: 10 },
      ],
    });
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    for (const open of gates.values()) open();
    await app.close();
    await dropSchema(schema);
  });
  beforeEach(() => {
    Jobs.started = [];
    Jobs.afterGate = [];
  });

  it('setPriority reorders the workflows waiting on a priority queue', async () => {
    const first = await client.start(Jobs, { queue: 'ranked', workflowId: 'rank-first' }).job('rank-gate');
    await waitFor(() => Jobs.started.length === 1, { what: 'the first job to hold the queue' });
    const waiting = [];
    for (const id of ['rank-a', 'rank-b', 'rank-c']) waiting.push(await client.start(Jobs, { queue: 'ranked', workflowId: id, priority: 5 }).job(null));
    await client.setPriority('rank-c', 1);
    await client.setPriority('rank-a', 9);
    expect((await client.getStatus('rank-c'))!.status).toBe('ENQUEUED');
    openGate('rank-gate');
    for (const handle of [first, ...waiting]) await handle.getResult({ timeoutMs: 10_000 });
    expect(Jobs.started).toEqual(['rank-first', 'rank-c', 'rank-b', 'rank-a']);
  });

  it('setDelay postpones a queued workflow, and a shortened delay starts it on time', async () => {
    const handle = await client.start(Jobs, { queue: 'open', workflowId: 'delay-1', delayMs: 500 }).job(null);
    await client.setDelay('delay-1', 60_000);
    await quietPeriod(1_000, 'a start at the original 500 ms delay');
    expect(await status('delay-1')).toBe('ENQUEUED');
    // The dispatcher sleeps toward the 60 s delay (and polls every 5 s): only the wake of setDelay starts it this soon.
    const shortenedAt = Date.now();
    await client.setDelay('delay-1', 300);
    await waitFor(() => Jobs.started.includes('delay-1'), { what: 'the start at the shortened delay', timeoutMs: 10_000 });
    const startedAfter = Date.now() - shortenedAt;
    expect(startedAfter).toBeGreaterThanOrEqual(250);
    expect(startedAfter).toBeLessThan(2_500);
    await handle.getResult({ timeoutMs: 10_000 });
  });

  it('setDelay(id, 0) makes a delayed workflow eligible at once', async () => {
    await client.start(Jobs, { queue: 'open', workflowId: 'delay-0', delayMs: 60_000 }).job(null);
    const at = Date.now();
    await client.setDelay('delay-0', 0);
    await waitFor(() => Jobs.started.includes('delay-0'), { what: 'the start', timeoutMs: 10_000 });
    expect(Date.now() - at).toBeLessThan(2_500);
  });

  it('both are refused once the workflow left its queue, for an unknown id, and for bad values', async () => {
    const running = await client.start(Jobs, { queue: 'open', workflowId: 'edit-running' }).job('edit-gate');
    await waitFor(async () => (await status('edit-running')) === 'PENDING', { what: 'the dequeue' });
    await expect(client.setPriority('edit-running', 1)).rejects.toBeInstanceOf(DbosConflictError);
    await expect(client.setDelay('edit-running', 1_000)).rejects.toThrow(
      /Workflow "edit-running" is PENDING, not ENQUEUED: its delay can only be changed while it waits on its queue/,
    );
    openGate('edit-gate');
    await running.getResult({ timeoutMs: 10_000 });
    await expect(client.setPriority('edit-running', 1)).rejects.toThrow(/is SUCCESS, not ENQUEUED: its priority/);
    await expect(client.setPriority('no-such-workflow', 1)).rejects.toBeInstanceOf(DbosNotFoundError);
    await expect(client.setDelay('no-such-workflow', 1)).rejects.toBeInstanceOf(DbosNotFoundError);
    await expect(client.setPriority('edit-running', 1.5)).rejects.toBeInstanceOf(DbosInvalidArgumentError);
    await expect(client.setDelay('edit-running', -1)).rejects.toBeInstanceOf(DbosInvalidArgumentError);
  });

  it('delete removes a finished workflow and every row it owns; its child stays', async () => {
    const id = await finishedOwner('del-1');
    await expect(client.delete(id)).resolves.toEqual([id]);
    expect(await ownedRows(id)).toEqual(none);
    expect(await status(`${id}-child`)).toBe('SUCCESS');
    expect((await ownedRows(`${id}-child`)).workflow_events).toBe(1);
    await expect(client.delete(id)).rejects.toBeInstanceOf(DbosNotFoundError);
  });

  it('delete with children removes its child workflows and what they own', async () => {
    const id = await finishedOwner('del-2');
    await expect(client.delete(id, { children: true })).resolves.toEqual([id, `${id}-child`]);
    expect(await ownedRows(id)).toEqual(none);
    expect(await ownedRows(`${id}-child`)).toEqual(none);
  });

  it('delete refuses an unfinished workflow without force, saying to cancel it first or pass force', async () => {
    const handle = await client.start(Jobs, { workflowId: 'del-running' }).job('del-running-gate');
    await waitFor(() => Jobs.started.includes('del-running'), { what: 'the step to start' });
    await expect(client.delete('del-running')).rejects.toBeInstanceOf(DbosConflictError);
    await expect(client.delete('del-running')).rejects.toThrow(
      /Workflow "del-running" is PENDING: only finished workflows are deleted. Cancel it first \(client.cancel\), or pass \{ force: true \}/,
    );
    expect(await status('del-running')).toBe('PENDING');
    openGate('del-running-gate');
    await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toBe('done');
  });

  it('delete with force stops a workflow running here; its late step result and writes leave nothing', async () => {
    await client.start(Jobs, { workflowId: 'del-forced' }).job('del-forced-gate');
    await waitFor(() => Jobs.started.includes('del-forced'), { what: 'the step to start' });
    await expect(client.delete('del-forced', { force: true })).resolves.toEqual(['del-forced']);
    expect(await ownedRows('del-forced')).toEqual(none);
    // The step ignored the cancel; it ends now, and would checkpoint, write a stream value and go on.
    openGate('del-forced-gate');
    await waitFor(() => Jobs.afterGate.includes('del-forced'), { what: 'the step to end' });
    await quietPeriod(300, 'a late checkpoint, stream value or outcome of the deleted workflow');
    expect(await ownedRows('del-forced')).toEqual(none);
    expect(Jobs.afterGate).toEqual(['del-forced']);
  });

  it('delete with force from a client without the app (database only) stops the run in the app', async () => {
    const remote = await WorkflowClient.connect({ database: { url: databaseUrl() }, schema });
    try {
      await client.start(Jobs, { workflowId: 'del-remote' }).job('del-remote-gate');
      await waitFor(() => Jobs.started.includes('del-remote'), { what: 'the step to start' });
      await expect(remote.delete('del-remote', { force: true })).resolves.toEqual(['del-remote']);
      expect(await ownedRows('del-remote')).toEqual(none);
      // The app hears of it (the cancel, then the deletion): its run stops before its next step.
      await waitFor(() => app.get(RunningWorkflows).get('del-remote')?.isStopped === true, { what: 'the run in the app to stop' });
      openGate('del-remote-gate');
      await waitFor(() => Jobs.afterGate.includes('del-remote'), { what: 'the step to end' });
      await quietPeriod(300, 'a late checkpoint, stream value, next step or outcome of the deleted workflow');
      expect(await ownedRows('del-remote')).toEqual(none);
      expect(Jobs.afterGate).toEqual(['del-remote']);
    } finally {
      await remote.close();
    }
  });

  it('delete with force of a queued workflow: it never starts', async () => {
    await client.start(Jobs, { queue: 'open', workflowId: 'del-queued', delayMs: 500 }).job(null);
    await expect(client.delete('del-queued', { force: true })).resolves.toEqual(['del-queued']);
    await quietPeriod(800, 'a start after the delay');
    expect(Jobs.started).not.toContain('del-queued');
    expect(await ownedRows('del-queued')).toEqual(none);
  });
});
