import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, Step, Workflow, WorkflowClient } from '../../lib';
import { serialize } from '../../lib/serialization/value.codec';
import { createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

@Injectable()
class Chores {
  static ran: string[] = [];
  constructor(private readonly dbos: DbosContext) {}

  @Step() async note(what: string): Promise<string> {
    Chores.ran.push(what);
    return what;
  }

  @Workflow() async quick(label: string): Promise<string> {
    return this.note(label);
  }

  @Workflow() async waitForever(): Promise<void> {
    await this.note('waiting');
    await this.dbos.recv('never', { timeoutMs: 600_000 });
  }

  @Workflow() async parentOf(label: string): Promise<string> {
    return this.quick(label);
  }
}

describe('workflow management', () => {
  const schema = uniqueSchema('mgmt');
  let app: INestApplicationContext;
  let client: WorkflowClient;

  beforeAll(async () => {
    app = await createDbosApp([Chores], { schema, executorId: 'mgmt-exec', applicationVersion: 'v2', queues: [{ name: 'chores' }] });
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  it('getStatus reads the payloads only when asked to', async () => {
    await client
      .start(Chores, { workflowId: 'payloads-1' })
      .quick('the input')
      .then((h) => h.getResult());
    const plain = await client.getStatus('payloads-1');
    expect(plain).toMatchObject({ workflowId: 'payloads-1', status: 'SUCCESS' });
    expect(plain).not.toHaveProperty('input');
    expect(plain).not.toHaveProperty('output');
    const full = await client.retrieve('payloads-1').getStatus({ loadPayloads: true });
    expect(full).toMatchObject({ input: ['the input'], output: 'the input' });
    expect(await client.getStatus('payloads-1', { loadPayloads: true })).toMatchObject({ output: 'the input' });
  });

  it('list reads no payloads with loadPayloads: false, and sorts and pages by creation', async () => {
    for (const n of [1, 2, 3])
      await client
        .start(Chores, { workflowId: `page-${n}` })
        .quick(`p${n}`)
        .then((h) => h.getResult());
    const lean = await client.list({ workflowIdPrefix: 'page-', loadPayloads: false });
    expect(lean.map((w) => w.workflowId)).toEqual(['page-1', 'page-2', 'page-3']);
    expect(lean.every((w) => w.input === undefined && w.output === undefined)).toBe(true);
    const page = await client.list({ workflowIdPrefix: 'page-', sortDesc: true, limit: 1, offset: 1, status: ['SUCCESS'] });
    expect(page.map((w) => [w.workflowId, w.output])).toEqual([['page-2', 'p2']]);
  });

  it('list filters by executor, version, parent, forked-from and id prefix', async () => {
    await client
      .start(Chores, { workflowId: 'inv-100' })
      .quick('a')
      .then((h) => h.getResult());
    await client
      .start(Chores, { workflowId: 'inv-101' })
      .parentOf('b')
      .then((h) => h.getResult());
    await client
      .start(Chores, { workflowId: 'other_1' })
      .quick('c')
      .then((h) => h.getResult());
    const forked = await client.fork('inv-100', { fromStep: 0 });
    await forked.getResult();
    const ids = async (filter: Parameters<WorkflowClient['list']>[0]) => (await client.list(filter)).map((w) => w.workflowId).sort();
    expect(await ids({ workflowIdPrefix: 'inv-' })).toEqual(['inv-100', 'inv-101', 'inv-101-0']);
    expect(await ids({ workflowIdPrefix: 'other_' })).toEqual(['other_1']);
    expect(await ids({ workflowIdPrefix: 'other%' })).toEqual([]); // % is matched literally
    expect(await ids({ parentWorkflowId: 'inv-101' })).toEqual(['inv-101-0']);
    expect(await ids({ forkedFrom: 'inv-100' })).toEqual([forked.workflowId]);
    expect((await ids({ executorId: 'mgmt-exec' })).length).toBeGreaterThanOrEqual(5);
    expect(await ids({ executorId: 'nobody' })).toEqual([]);
    expect((await ids({ applicationVersion: 'v2', workflowIdPrefix: 'inv-' })).length).toBe(3);
    expect(await ids({ applicationVersion: 'v1' })).toEqual([]);
    expect(await ids({ updatedAfter: new Date(Date.now() - 60_000), workflowIdPrefix: 'inv-' })).toEqual(['inv-100', 'inv-101', 'inv-101-0']);
    expect(await ids({ updatedBefore: new Date(Date.now() - 60_000), workflowIdPrefix: 'inv-' })).toEqual([]);
  });

  it('cancel and resume in bulk', async () => {
    const handles = await Promise.all(['bulk-1', 'bulk-2', 'bulk-3'].map((id) => client.start(Chores, { workflowId: id }).waitForever()));
    await waitFor(() => Chores.ran.filter((r) => r === 'waiting').length >= 3);
    await client.cancel(['bulk-1', 'bulk-2', 'bulk-3']);
    for (const h of handles) expect((await h.getStatus())!.status).toBe('CANCELLED');
    Chores.ran = [];
    const resumed = await client.resume(['bulk-1', 'bulk-2', 'bulk-3']);
    expect(resumed.map((h) => h.workflowId)).toEqual(['bulk-1', 'bulk-2', 'bulk-3']);
    for (const h of resumed) await waitFor(async () => (await h.getStatus())!.status === 'PENDING');
    expect(Chores.ran).toEqual([]); // resumed after their recorded step
    for (const h of resumed) await client.send(h.workflowId, 'wake', 'never');
    await Promise.all(resumed.map((h) => h.getResult({ timeoutMs: 10_000 })));
  });

  it('deleteOlderThan removes exactly the finished workflows older than the cutoff, with their steps, and leaves running ones', async () => {
    const old = Date.now() - 10 * 86_400_000;
    const insert = (id: string, status: string, created: number) =>
      sql(
        `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, inputs, executor_id, application_version, created_at, updated_at)
         VALUES ($1, $2, 'Chores.quick', $3, 'elsewhere', 'v0', $4, $4)`,
        [id, status, serialize(['x']), created],
      );
    await insert('gc-old-success', 'SUCCESS', old);
    await insert('gc-old-error', 'ERROR', old);
    await insert('gc-old-pending', 'PENDING', old);
    await insert('gc-new-success', 'SUCCESS', Date.now());
    await sql(`INSERT INTO "${schema}".operation_outputs (workflow_id, step_id, step_name, output) VALUES ('gc-old-success', 0, 's', '1')`);
    await sql(
      `INSERT INTO "${schema}".message_keys (destination_id, idempotency_key, created_at) VALUES ('gc-old-success', 'k', 1), ('gc-new-success', 'k', 1)`,
    );
    const deleted = await client.deleteOlderThan(new Date(Date.now() - 86_400_000));
    expect(deleted).toBe(2);
    const left = await sql<{ workflow_id: string }>(`SELECT workflow_id FROM "${schema}".workflow_status WHERE workflow_id LIKE 'gc-%' ORDER BY 1`);
    expect(left.map((r) => r.workflow_id)).toEqual(['gc-new-success', 'gc-old-pending']);
    expect(await sql(`SELECT * FROM "${schema}".operation_outputs WHERE workflow_id = 'gc-old-success'`)).toEqual([]);
    const keys = await sql<{ destination_id: string }>(`SELECT destination_id FROM "${schema}".message_keys WHERE destination_id LIKE 'gc-%'`);
    expect(keys.map((k) => k.destination_id)).toEqual(['gc-new-success']); // idempotency keys go with their workflow
    await sql(`DELETE FROM "${schema}".workflow_status WHERE workflow_id = 'gc-old-pending'`);
  });

  it('deleteOlderThan deletes in batches, oldest first, pausing between them', async () => {
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, created_at, updated_at)
       SELECT 'gcb-' || lpad(g::text, 3, '0'), 'SUCCESS', 'Chores.quick', g, g FROM generate_series(1, 120) g`,
    );
    // Deleted oldest first: a deletion stopped after some batches leaves the newest rows.
    const deleting = client.deleteOlderThan(new Date(200), { batchSize: 50, pauseRatio: 0 });
    expect(await deleting).toBe(120);
    expect(await sql(`SELECT 1 FROM "${schema}".workflow_status WHERE workflow_id LIKE 'gcb-%'`)).toEqual([]);
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, created_at, updated_at)
       SELECT 'gco-' || lpad(g::text, 3, '0'), 'SUCCESS', 'Chores.quick', g, g FROM generate_series(1, 30) g`,
    );
    const partial = client.deleteOlderThan(new Date(200), { batchSize: 10, pauseRatio: 200 });
    // The pause after the first batch is long (200 times the batch's duration): only the oldest ten are gone.
    let left: { workflow_id: string }[] = [];
    for (let k = 0; k < 100 && left.length !== 20; k++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      left = await sql<{ workflow_id: string }>(`SELECT workflow_id FROM "${schema}".workflow_status WHERE workflow_id LIKE 'gco-%' ORDER BY 1`);
    }
    expect(left.map((r) => r.workflow_id)).toEqual(Array.from({ length: 20 }, (_, k) => `gco-${String(k + 11).padStart(3, '0')}`));
    expect(await partial).toBe(30);
  });

  it('automatic retention deletes old finished workflows', async () => {
    const retained = await createDbosApp([Chores], { schema, executorId: 'retention-exec', applicationVersion: 'v2', retention: { olderThanMs: 86_400_000 } });
    try {
      // Old and finished; finished but recent; old but not finished (queued on a queue nobody runs).
      await sql(
        `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, queue_name, created_at, updated_at)
         VALUES ('ret-old', 'SUCCESS', 'Chores.quick', NULL, 1, 1), ('ret-recent', 'SUCCESS', 'Chores.quick', NULL, $1, $1),
                ('ret-old-queued', 'ENQUEUED', 'Chores.quick', 'ret-nowhere', 1, 1)`,
        [Date.now()],
      );
      await retained.close(); // close, then start again: retention runs at start
      const again = await createDbosApp([Chores], { schema, executorId: 'retention-exec', applicationVersion: 'v2', retention: { olderThanMs: 86_400_000 } });
      const left = async () =>
        (await sql<{ id: string }>(`SELECT workflow_id AS id FROM "${schema}".workflow_status WHERE workflow_id LIKE 'ret-%' ORDER BY 1`)).map((r) => r.id);
      await waitFor(async () => !(await left()).includes('ret-old'), { what: 'retention at start deleting ret-old', timeoutMs: 30_000 });
      expect(await left()).toEqual(['ret-old-queued', 'ret-recent']);
      await again.close();
    } finally {
      await retained.close().catch(() => undefined);
    }
  });
});

describe('application versions on one database', () => {
  const schema = uniqueSchema('versions');
  afterAll(() => dropSchema(schema));

  it('recovery and queue dispatch take only their own version; an operator moves old ones with resume', async () => {
    const v1 = await createDbosApp([Chores], { schema, executorId: 'exec-v1', applicationVersion: 'v1', queues: [{ name: 'chores' }] });
    const v1Client = v1.get(WorkflowClient);
    await v1
      .get(WorkflowClient)
      .start(Chores, { workflowId: 'v1-done' })
      .quick('v1')
      .then((h) => h.getResult());
    await v1.close();

    // Work of v1 left behind: one PENDING on its executor, one queued for v1.
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, inputs, executor_id, application_version, queue_name, created_at, updated_at)
       VALUES ('v1-pending', 'PENDING', 'Chores.quick', $1, 'exec-v1', 'v1', NULL, $2, $2),
              ('v1-queued', 'ENQUEUED', 'Chores.quick', $1, NULL, 'v1', 'chores', $2, $2)`,
      [serialize(['left behind']), Date.now()],
    );
    void v1Client;

    const warn = jest.spyOn(Logger.prototype, 'warn');
    Chores.ran = [];
    const v2 = await createDbosApp([Chores], { schema, executorId: 'exec-v1', applicationVersion: 'v2', queues: [{ name: 'chores' }] });
    try {
      const client = v2.get(WorkflowClient);
      await waitFor(() => warn.mock.calls.some(([m]) => String(m).includes('1 ENQUEUED of version "v1"') && String(m).includes('1 PENDING of version "v1"')));
      await quietPeriod(300, 'a recovery or dequeue of the v1 workflows by v2 would show now');
      expect(Chores.ran).toEqual([]); // neither recovered nor dequeued by v2
      expect((await client.list({ applicationVersion: 'v1', status: ['PENDING', 'ENQUEUED'] })).map((w) => w.workflowId).sort()).toEqual([
        'v1-pending',
        'v1-queued',
      ]);
      const moved = await client.resume(['v1-pending', 'v1-queued'], { applicationVersion: 'v2' });
      await expect(Promise.all(moved.map((h) => h.getResult({ timeoutMs: 10_000 })))).resolves.toEqual(['left behind', 'left behind']);
      expect((await client.getStatus('v1-pending'))!.applicationVersion).toBe('v2');
    } finally {
      warn.mockRestore();
      await v2.close();
    }
  });
});
