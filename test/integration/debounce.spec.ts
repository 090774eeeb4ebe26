import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Client } from 'pg';
import {
  DbosConfigurationError,
  DbosContext,
  DbosInvalidArgumentError,
  DbosNotFoundError,
  DbosQueueNotDeclaredError,
  Step,
  Workflow,
  WorkflowClient,
  type WorkflowHandle,
} from '../../lib';
import { QueueDispatcher } from '../../lib/queues/queue.dispatcher';
import { INTERNAL_QUEUE } from '../../lib/system-database/system.names';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

const gates = new Map<string, () => void>();

@Injectable()
class Digest {
  /** Every run of a body: its workflow id and argument. */
  static runs: { id: string; value: string }[] = [];

  constructor(private readonly dbos: DbosContext) {}

  @Step() async note(value: string): Promise<void> {
    Digest.runs.push({ id: this.dbos.workflowId!, value });
  }

  @Step() async hold(gate: string): Promise<void> {
    await new Promise<void>((resolve) => gates.set(gate, resolve));
  }

  @Workflow() async send(value: string): Promise<string> {
    await this.note(value);
    return value;
  }

  @Workflow() async archive(value: string): Promise<string> {
    await this.note(value);
    return value;
  }

  /** Runs until its gate (named by its value) opens. */
  @Workflow() async gated(value: string): Promise<string> {
    await this.note(value);
    await this.hold(value);
    return value;
  }

  notAWorkflow(): Promise<void> {
    return Promise.resolve();
  }
}

interface StatusRow {
  status: string;
  queue_name: string;
  inputs: string;
  created_at: string;
  started_at: string | null;
  delay_until: string | null;
}

describe('client.debounce', () => {
  const schema = uniqueSchema('debounce');
  let app: INestApplicationContext;
  let client: WorkflowClient;
  let standalone: WorkflowClient;

  const row = async (workflowId: string): Promise<StatusRow> =>
    (
      await sql<StatusRow>(`SELECT status, queue_name, inputs, created_at, started_at, delay_until FROM "${schema}".workflow_status WHERE workflow_id = $1`, [
        workflowId,
      ])
    )[0];
  const runsOf = (workflowId: string) => Digest.runs.filter((r) => r.id === workflowId).map((r) => r.value);
  /** How late the run started after its burst came due (a dispatcher that misses the delay waits for its 5 s poll). */
  const lateness = async (workflowId: string) => {
    const { started_at, delay_until } = await row(workflowId);
    return Number(started_at) - Number(delay_until);
  };

  beforeAll(async () => {
    app = await createDbosApp([Digest], { schema, queues: [{ name: 'digests', workerConcurrency: 1 }] });
    client = app.get(WorkflowClient);
    standalone = await WorkflowClient.connect({ database: { url: databaseUrl() }, schema });
  });
  afterAll(async () => {
    for (const open of gates.values()) open();
    await standalone?.close();
    await app?.close();
    await dropSchema(schema);
  });

  it('a burst of calls gives one run, periodMs after the last call, with its arguments; every call has the same workflow id', async () => {
    const handles: WorkflowHandle<string>[] = [];
    let lastCallAt = 0;
    for (let i = 0; i < 10; i++) {
      lastCallAt = Date.now();
      handles.push(await client.debounce('user-1', { periodMs: 400 }, Digest).send(`v${i}`));
    }
    const workflowId = handles[0].workflowId;
    expect(handles.map((h) => h.workflowId)).toEqual(Array(10).fill(workflowId));
    await expect(handles[3].getResult({ timeoutMs: 10_000 })).resolves.toBe('v9');
    await quietPeriod(800, 'a second run of the burst');
    expect(runsOf(workflowId)).toEqual(['v9']);
    const done = await row(workflowId);
    expect(done.status).toBe('SUCCESS');
    expect(Number(done.delay_until)).toBeGreaterThanOrEqual(lastCallAt + 400);
    expect(Number(done.started_at)).toBeGreaterThanOrEqual(Number(done.delay_until));
    expect(await lateness(workflowId)).toBeLessThan(4_000);
    expect((await sql(`SELECT 1 FROM "${schema}".workflow_status WHERE workflow_name = 'Digest.send'`)).length).toBe(1);
  });

  it('maxWaitMs bounds the wait of a burst whose calls never pause: a run starts, and later calls open the next burst', async () => {
    const calls: { value: string; id: string }[] = [];
    const streamStart = Date.now();
    for (let i = 0; Date.now() - streamStart < 3_500; i++) {
      const handle = await client.debounce('stream', { periodMs: 500, maxWaitMs: 1_000 }, Digest).archive(`s${i}`);
      calls.push({ value: `s${i}`, id: handle.workflowId });
      await new Promise((resolve) => setTimeout(resolve, 50)); // the pace of the stream: never a pause of periodMs
    }
    const ids = [...new Set(calls.map((c) => c.id))];
    expect(ids.length).toBeGreaterThanOrEqual(2);
    for (const id of ids) {
      const last = calls.filter((c) => c.id === id).pop()!.value;
      await expect(client.retrieve(id).getResult({ timeoutMs: 10_000 })).resolves.toBe(last);
      expect(runsOf(id)).toEqual([last]);
    }
    // Each id's calls are one contiguous run of the stream: a burst never takes a call back.
    expect(ids).toEqual(calls.map((c) => c.id).filter((id, i, all) => i === 0 || all[i - 1] !== id));
    const first = await row(ids[0]);
    const waited = Number(first.started_at) - Number(first.created_at);
    expect(waited).toBeGreaterThanOrEqual(1_000);
    expect(waited).toBeLessThan(3_000); // without maxWaitMs it would wait for the end of the stream, 3.5 s and more
  });

  it('a call once the burst has started opens a new burst, with a new workflow id', async () => {
    const first = await client.debounce('gate', { periodMs: 100 }, Digest).gated('g1');
    await waitFor(() => gates.has('g1'), { what: 'the first run to start' });
    const second = await client.debounce('gate', { periodMs: 100 }, Digest).gated('g2');
    expect(second.workflowId).not.toBe(first.workflowId);
    gates.get('g1')!();
    await waitFor(() => gates.has('g2'), { what: 'the second run to start' });
    gates.get('g2')!();
    await expect(first.getResult({ timeoutMs: 10_000 })).resolves.toBe('g1');
    await expect(second.getResult({ timeoutMs: 10_000 })).resolves.toBe('g2');
    expect(await lateness(second.workflowId)).toBeLessThan(4_000);
  });

  it('a call that loses the race with a claim opens a new burst; the claimed run keeps the arguments it was claimed with', async () => {
    // A workflow no process here registers: only this test's "claim" below takes its row.
    const options = { periodMs: 60_000, workflowName: 'Elsewhere.run' };
    const first = await standalone.debounce('race', options, 'first');
    const claim = new Client({ connectionString: databaseUrl() });
    await claim.connect();
    try {
      await claim.query('BEGIN');
      await claim.query(`SELECT 1 FROM "${schema}".workflow_status WHERE workflow_id = $1 FOR UPDATE`, [first.workflowId]);
      const second = standalone.debounce('race', options, 'second');
      await waitFor(
        async () =>
          (await sql(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`%UPDATE "${schema}".workflow_status%SET inputs%`]))
            .length === 1,
        { what: 'the second call to wait for the claimed row' },
      );
      await claim.query(`UPDATE "${schema}".workflow_status SET status = 'PENDING', started_at = $2, executor_id = 'elsewhere' WHERE workflow_id = $1`, [
        first.workflowId,
        Date.now(),
      ]);
      await claim.query('COMMIT');
      const secondId = (await second).workflowId;
      expect(secondId).not.toBe(first.workflowId);
      expect(JSON.parse((await row(first.workflowId)).inputs)).toEqual(['first']);
      const opened = await row(secondId);
      expect(opened.status).toBe('ENQUEUED');
      expect(JSON.parse(opened.inputs)).toEqual(['second']);
      // The next call joins the new burst.
      expect((await standalone.debounce('race', options, 'third')).workflowId).toBe(secondId);
    } finally {
      await claim.end();
    }
  });

  it('a call that held the due burst while a dispatcher skipped it wakes the dispatcher: the run starts at once, not at its next poll', async () => {
    const first = await client.debounce('skipped', { periodMs: 1_000, maxWaitMs: 1_000 }, Digest).send('k1');
    const holder = new Client({ connectionString: databaseUrl() });
    await holder.connect();
    try {
      // Stands for a call holding the row when the burst comes due: the dispatcher's claim skips it (SKIP LOCKED).
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "${schema}".workflow_status WHERE workflow_id = $1 FOR UPDATE`, [first.workflowId]);
      const due = Number((await row(first.workflowId)).delay_until);
      await waitFor(() => Date.now() > due + 300, { what: 'the burst to come due while the row is held', timeoutMs: 5_000 });
      const second = client.debounce('skipped', { periodMs: 1_000, maxWaitMs: 1_000 }, Digest).send('k2');
      await waitFor(
        async () =>
          (await sql(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`%UPDATE "${schema}".workflow_status%SET inputs%`]))
            .length === 1,
        { what: 'the second call to wait for the held row' },
      );
      await holder.query('COMMIT');
      const releasedAt = Date.now();
      expect((await second).workflowId).toBe(first.workflowId);
      await expect(first.getResult({ timeoutMs: 10_000 })).resolves.toBe('k2');
      // The dispatcher found nothing else due and polls again 5 s after its skipped claim; the call's commit woke it.
      expect(Number((await row(first.workflowId)).started_at) - releasedAt).toBeLessThan(2_500);
    } finally {
      await holder.end();
    }
  });

  it('a burst that comes due while a dispatcher claims starts then, not at the dispatcher’s next poll', async () => {
    const burst = await client.debounce('due-mid-pass', { periodMs: 60_000 }, Digest).send('d1');
    const holder = new Client({ connectionString: databaseUrl() });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      const due = Date.now() + 600;
      await holder.query(`UPDATE "${schema}".workflow_status SET delay_until = $2 WHERE workflow_id = $1`, [burst.workflowId, due]);
      // Holds the claim's UPDATE after it read the clock, before the burst is due; its look at the next delay comes after.
      await holder.query(`LOCK TABLE "${schema}".workflow_status IN SHARE MODE`);
      app.get(QueueDispatcher).wake(INTERNAL_QUEUE);
      await waitFor(
        async () =>
          (await sql(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`WITH room AS%"${schema}".workflow_status%`])).length >
          0,
        { what: 'the claim to wait' },
      );
      await waitFor(() => Date.now() > due + 200, { what: 'the burst to come due during the claim' });
      await holder.query('COMMIT');
      const releasedAt = Date.now();
      await expect(burst.getResult({ timeoutMs: 10_000 })).resolves.toBe('d1');
      // That claim found it not yet due; the dispatcher's next poll is 5 s away.
      expect(Number((await row(burst.workflowId)).started_at) - releasedAt).toBeLessThan(2_500);
    } finally {
      await holder.end();
    }
  });

  it('keys are scoped by workflow: the same key on two workflows gives two runs', async () => {
    const send = await client.debounce('shared-key', { periodMs: 100 }, Digest).send('to-send');
    const archive = await client.debounce('shared-key', { periodMs: 100 }, Digest).archive('to-archive');
    expect(archive.workflowId).not.toBe(send.workflowId);
    await expect(send.getResult({ timeoutMs: 10_000 })).resolves.toBe('to-send');
    await expect(archive.getResult({ timeoutMs: 10_000 })).resolves.toBe('to-archive');
    // A delay that runs out while a dispatcher's pass is between its claim and its look at the next delay still counts.
    expect(await lateness(send.workflowId)).toBeLessThan(4_000);
    expect(await lateness(archive.workflowId)).toBeLessThan(4_000);
  });

  it('by name from a standalone client, calls collapse with the app’s calls of the same key; with a class it says to debounce by name', async () => {
    const fromApp = await client.debounce('mixed', { periodMs: 500 }, Digest).send('from-app');
    const byName = await standalone.debounce<string>('mixed', { periodMs: 500, workflowName: 'Digest.send' }, 'from-standalone');
    expect(byName.workflowId).toBe(fromApp.workflowId);
    await expect(byName.getResult({ timeoutMs: 10_000 })).resolves.toBe('from-standalone');
    const withClass = standalone.debounce('mixed', { periodMs: 500 }, Digest).send('x');
    await expect(withClass).rejects.toThrow(DbosConfigurationError);
    await expect(standalone.debounce('mixed', { periodMs: 500 }, Digest).send('x')).rejects.toThrow(
      /debounce\(\) with a class needs the workflow classes of a Nest app.*debounce\(key, \{ \.\.\.options, workflowName \}, \.\.\.args\)/,
    );
  });

  it('runs on the queue given, within its limits', async () => {
    const handle = await client.debounce('queued', { periodMs: 100, queue: 'digests' }, Digest).send('on-queue');
    expect((await row(handle.workflowId)).queue_name).toBe('digests');
    await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toBe('on-queue');
  });

  it('refuses what it cannot run, before anything is written', async () => {
    await expect(client.debounce('bad', { periodMs: -1 }, Digest).send('x')).rejects.toThrow(DbosInvalidArgumentError);
    await expect(client.debounce('', { periodMs: 100 }, Digest).send('x')).rejects.toThrow(/Debounce key "" is not valid/);
    await expect(client.debounce('bad', { periodMs: 100, maxWaitMs: 1.5 }, Digest).send('x')).rejects.toThrow(/maxWaitMs must be a whole number/);
    await expect(client.debounce('bad', { periodMs: 100, queue: 'nowhere' }, Digest).send('x')).rejects.toThrow(DbosQueueNotDeclaredError);
    await expect(client.debounce('bad', { periodMs: 100 }, Digest).notAWorkflow()).rejects.toThrow(DbosNotFoundError);
    expect(() => (client.debounce as (key: string, options: object) => unknown)('bad', { periodMs: 100 })).toThrow(
      /pass the workflow class, or options.workflowName/,
    );
    expect(await sql(`SELECT 1 FROM "${schema}".debounce WHERE debounce_key = 'bad'`)).toEqual([]);
  });

  it('retention takes the keys of the bursts it deletes with them', async () => {
    const handle = await client.debounce('kept-until-retention', { periodMs: 50 }, Digest).send('r');
    await handle.getResult({ timeoutMs: 10_000 });
    const keys = () => sql(`SELECT 1 FROM "${schema}".debounce WHERE workflow_id = $1`, [handle.workflowId]);
    expect(await keys()).toHaveLength(1);
    await client.deleteOlderThan(new Date(Date.now() + 1_000));
    expect(await keys()).toEqual([]);
  });
});
