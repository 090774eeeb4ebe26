import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, DbosNotFoundError, Workflow, WorkflowClient } from '../../lib';
import { deserialize } from '../../lib/serialization/value.codec';
import { createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

@Injectable()
class Inbox {
  constructor(private readonly dbos: DbosContext) {}

  /** Waits for the go-ahead, then receives `count` messages: until then what was sent stays unconsumed. */
  @Workflow() async receiveAfterGo(count: number, timeoutMs: number): Promise<unknown[]> {
    await this.dbos.recv('go', { timeoutMs: 20_000 });
    const received: unknown[] = [];
    for (let i = 0; i < count; i++) received.push(await this.dbos.recv('in', { timeoutMs }));
    return received;
  }

  /** Receives one message, waits for the go-ahead, then tries for a second. */
  @Workflow() async receiveTwice(timeoutMs: number): Promise<unknown[]> {
    const first = await this.dbos.recv('in', { timeoutMs: 20_000 });
    await this.dbos.recv('go', { timeoutMs: 20_000 });
    const second = await this.dbos.recv('in', { timeoutMs });
    return [first, second];
  }
}

describe('client.send idempotency keys', () => {
  const schema = uniqueSchema('idem');
  let app: INestApplicationContext;
  let client: WorkflowClient;

  /** The unconsumed messages of topic "in" to a workflow, oldest first. */
  const pending = async (workflowId: string) => {
    const rows = await sql<{ message: string }>(`SELECT message FROM "${schema}".notifications WHERE destination_id = $1 AND topic = 'in' ORDER BY seq`, [
      workflowId,
    ]);
    return rows.map((row) => deserialize(row.message));
  };

  /** Resolves once the workflow's first recv has consumed its message (the consumption commits with the checkpoint). */
  const consumedOne = (workflowId: string) => waitFor(async () => (await client.listSteps(workflowId)).some((step) => step.name === 'DBOS.recv'));

  beforeAll(async () => {
    app = await createDbosApp([Inbox], { schema, executorId: 'idem-exec', applicationVersion: 'v1' });
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
  });

  it('one key sent to two workflows delivers to both', async () => {
    const a = await client.start(Inbox).receiveAfterGo(1, 10_000);
    const b = await client.start(Inbox).receiveAfterGo(1, 10_000);
    await client.send(a.workflowId, 'to-a', 'in', { idempotencyKey: 'shared-key' });
    await client.send(b.workflowId, 'to-b', 'in', { idempotencyKey: 'shared-key' });
    expect(await pending(a.workflowId)).toEqual(['to-a']);
    expect(await pending(b.workflowId)).toEqual(['to-b']);
    for (const handle of [a, b]) await client.send(handle.workflowId, 'go', 'go');
    await expect(a.getResult({ timeoutMs: 15_000 })).resolves.toEqual(['to-a']);
    await expect(b.getResult({ timeoutMs: 15_000 })).resolves.toEqual(['to-b']);
  });

  it('a key sent again after the message was consumed delivers nothing', async () => {
    const handle = await client.start(Inbox).receiveTwice(1_500);
    await client.send(handle.workflowId, 'first', 'in', { idempotencyKey: 'retry-key' });
    await consumedOne(handle.workflowId);
    // The retry of the same send, after recv consumed (and deleted) the first delivery.
    await expect(client.send(handle.workflowId, 'first', 'in', { idempotencyKey: 'retry-key' })).resolves.toBeUndefined();
    await client.send(handle.workflowId, 'go', 'go');
    await expect(handle.getResult({ timeoutMs: 15_000 })).resolves.toEqual(['first', null]);
  });

  it('a key sent twice before consumption delivers one message, to each workflow it is sent to', async () => {
    const a = await client.start(Inbox).receiveAfterGo(2, 1_500);
    const b = await client.start(Inbox).receiveAfterGo(2, 1_500);
    for (const [handle, message] of [
      [a, 'once-a'],
      [b, 'once-b'],
    ] as const) {
      await Promise.all([1, 2].map(() => client.send(handle.workflowId, message, 'in', { idempotencyKey: 'twice-key' })));
      await client.send(handle.workflowId, message, 'in', { idempotencyKey: 'twice-key' });
    }
    expect(await pending(a.workflowId)).toEqual(['once-a']);
    expect(await pending(b.workflowId)).toEqual(['once-b']);
    for (const handle of [a, b]) await client.send(handle.workflowId, 'go', 'go');
    await expect(a.getResult({ timeoutMs: 15_000 })).resolves.toEqual(['once-a', null]);
    await expect(b.getResult({ timeoutMs: 15_000 })).resolves.toEqual(['once-b', null]);
  });

  it('a key sent to an unknown workflow is DbosNotFoundError and stays unused until the workflow exists', async () => {
    const workflowId = 'idem-later';
    await expect(client.send(workflowId, 'early', 'in', { idempotencyKey: 'late-key' })).rejects.toThrow(DbosNotFoundError);
    const handle = await client.start(Inbox, { workflowId }).receiveTwice(1_500);
    await client.send(workflowId, 'on-time', 'in', { idempotencyKey: 'late-key' });
    await consumedOne(workflowId);
    // From here the key is used: a retry delivers nothing.
    await client.send(workflowId, 'on-time', 'in', { idempotencyKey: 'late-key' });
    await client.send(workflowId, 'go', 'go');
    await expect(handle.getResult({ timeoutMs: 15_000 })).resolves.toEqual(['on-time', null]);
  });
});
