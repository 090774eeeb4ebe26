import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosConflictError, DbosContext, DbosSerializationError, Step, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema } from '../support/database';

class PaymentDeclinedError extends Error {
  constructor(readonly code: string) {
    super(`payment declined: ${code}`);
    this.name = 'PaymentDeclinedError';
  }
}

@Injectable()
class OrderService {
  calls: string[] = [];
  flakyFailures = 0;

  constructor(private readonly dbos: DbosContext) {}

  @Step()
  async reserve(sku: string): Promise<string> {
    this.calls.push(`reserve:${sku}`);
    return `res-${sku}`;
  }

  @Step({ retries: { maxAttempts: 4, intervalMs: 10, backoffRate: 2 } })
  async flaky(): Promise<number> {
    this.calls.push('flaky');
    if (this.flakyFailures > 0) {
      this.flakyFailures--;
      throw new Error('transient');
    }
    return 7;
  }

  @Step({ retries: { maxAttempts: 2, intervalMs: 10 } })
  async decline(): Promise<void> {
    this.calls.push('decline');
    throw new PaymentDeclinedError('insufficient_funds');
  }

  @Workflow()
  async placeOrder(sku: string, qty: number): Promise<{ reservation: string; qty: number; workflowId?: string }> {
    const reservation = await this.reserve(sku);
    return { reservation, qty, workflowId: this.dbos.workflowId };
  }

  @Workflow({ name: 'orders.withRetries' })
  async withRetries(): Promise<number> {
    return this.flaky();
  }

  @Workflow()
  async declined(): Promise<void> {
    await this.decline();
  }

  @Workflow()
  async clockAndIds(): Promise<{ now: number; id: string }> {
    return { now: await this.dbos.now(), id: await this.dbos.randomUUID() };
  }

  @Workflow()
  async nonSerializableResult(): Promise<unknown> {
    return { callback: () => 1 };
  }
}

describe('durable workflows', () => {
  const schema = uniqueSchema('wf');
  let app: INestApplicationContext;
  let service: OrderService;
  let client: WorkflowClient;

  beforeAll(async () => {
    app = await createDbosApp([OrderService], { schema, executorId: 'wf-exec' });
    service = app.get(OrderService);
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });
  beforeEach(() => {
    service.calls = [];
  });

  it('calling a @Workflow method runs it durably and returns its result', async () => {
    const result = await service.placeOrder('widget', 2);
    expect(result.reservation).toBe('res-widget');
    expect(result.qty).toBe(2);
    const status = await client.retrieve(result.workflowId!).getStatus();
    expect(status).toMatchObject({
      workflowId: result.workflowId,
      status: 'SUCCESS',
      workflowName: 'OrderService.placeOrder',
      executorId: 'wf-exec',
      recoveryAttempts: 0,
    });
    expect(status!.createdAt).toBeInstanceOf(Date);
    const steps = await client.listSteps(result.workflowId!);
    expect(steps).toEqual([expect.objectContaining({ stepId: 0, name: 'OrderService.reserve', output: 'res-widget' })]);
  });

  it('client.start returns a handle at once and getResult gives the result', async () => {
    const handle = await client.start(OrderService, { workflowId: 'order-start-1' }).placeOrder('gadget', 1);
    expect(handle.workflowId).toBe('order-start-1');
    await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toMatchObject({ reservation: 'res-gadget', qty: 1 });
    await expect(client.retrieve('order-start-1').getResult()).resolves.toMatchObject({ reservation: 'res-gadget' });
  });

  it('starting an existing workflow id returns its handle and never runs it twice', async () => {
    const first = await client.start(OrderService, { workflowId: 'order-once' }).placeOrder('bolt', 1);
    await first.getResult();
    const second = await client.start(OrderService, { workflowId: 'order-once' }).placeOrder('bolt', 1);
    expect(second.workflowId).toBe('order-once');
    await expect(second.getResult()).resolves.toMatchObject({ reservation: 'res-bolt' });
    expect(service.calls.filter((c) => c === 'reserve:bolt')).toHaveLength(1);
    const rows = await sql(`SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE workflow_id = 'order-once'`);
    expect(rows[0].n).toBe(1);
  });

  it('concurrent starts of one id run the workflow once', async () => {
    const handles = await Promise.all(Array.from({ length: 5 }, () => client.start(OrderService, { workflowId: 'order-race' }).placeOrder('nut', 1)));
    await Promise.all(handles.map((h) => h.getResult()));
    expect(service.calls.filter((c) => c === 'reserve:nut')).toHaveLength(1);
  });

  it('the same id with a different workflow name is a DbosConflictError', async () => {
    await (await client.start(OrderService, { workflowId: 'order-conflict' }).placeOrder('x', 1)).getResult();
    await expect(client.start(OrderService, { workflowId: 'order-conflict' }).declined()).rejects.toThrow(DbosConflictError);
    await expect(client.start(OrderService, { workflowId: 'order-conflict' }).declined()).rejects.toThrow(/OrderService.placeOrder/);
  });

  it('retries a step with backoff and checkpoints the successful attempt', async () => {
    service.flakyFailures = 2;
    const handle = await client.start(OrderService).withRetries();
    await expect(handle.getResult()).resolves.toBe(7);
    expect(service.calls).toEqual(['flaky', 'flaky', 'flaky']);
    expect((await handle.getStatus())!.workflowName).toBe('orders.withRetries');
    const steps = await client.listSteps(handle.workflowId);
    expect(steps).toHaveLength(1);
    expect(steps[0].output).toBe(7);
  });

  it('records the final error of a step after its retries; getResult rethrows it with class name and message', async () => {
    const handle = await client.start(OrderService).declined();
    const error = await handle.getResult().catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('PaymentDeclinedError');
    expect((error as Error).message).toBe('payment declined: insufficient_funds');
    expect(service.calls).toEqual(['decline', 'decline']);
    const status = await handle.getStatus();
    expect(status!.status).toBe('ERROR');
    expect(status!.error!.name).toBe('PaymentDeclinedError');
    const steps = await client.listSteps(handle.workflowId);
    expect(steps[0].error).toMatchObject({ name: 'PaymentDeclinedError', code: 'insufficient_funds' });
    // Read from the database by another handle (not the in-process promise): the same error.
    const stored = await client
      .retrieve(handle.workflowId)
      .getResult()
      .catch((e: Error) => e);
    expect((stored as Error).name).toBe('PaymentDeclinedError');
    expect((stored as PaymentDeclinedError).code).toBe('insufficient_funds');
  });

  it('rejects non-serializable arguments before anything is written', async () => {
    const before = await sql(`SELECT count(*)::int AS n FROM "${schema}".workflow_status`);
    const fn = () => 1;
    await expect(service.placeOrder(fn as unknown as string, 1)).rejects.toThrow(DbosSerializationError);
    await expect(client.start(OrderService).placeOrder(fn as unknown as string, 1)).rejects.toThrow(/arguments of workflow OrderService.placeOrder/);
    const after = await sql(`SELECT count(*)::int AS n FROM "${schema}".workflow_status`);
    expect(after[0].n).toBe(before[0].n);
  });

  it('a workflow whose result cannot be stored ends in ERROR with DbosSerializationError', async () => {
    const handle = await client.start(OrderService).nonSerializableResult();
    await expect(handle.getResult()).rejects.toThrow(DbosSerializationError);
    expect((await handle.getStatus())!.status).toBe('ERROR');
  });

  it('checkpoints now() and randomUUID()', async () => {
    const handle = await client.start(OrderService).clockAndIds();
    const result = await handle.getResult();
    const steps = await client.listSteps(handle.workflowId);
    expect(steps.map((s) => s.name)).toEqual(['DBOS.now', 'DBOS.randomUUID']);
    expect(steps[0].output).toBe(result.now);
    expect(steps[1].output).toBe(result.id);
  });

  it('a step called outside a workflow just runs', async () => {
    await expect(service.reserve('loose')).resolves.toBe('res-loose');
    expect(service.calls).toEqual(['reserve:loose']);
  });

  it('list filters by status, name and creation time, and pages', async () => {
    const all = await client.list();
    expect(all.length).toBeGreaterThanOrEqual(8);
    const errors = await client.list({ status: 'ERROR' });
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((w) => w.status === 'ERROR')).toBe(true);
    const named = await client.list({ workflowName: 'OrderService.placeOrder' });
    expect(named.every((w) => w.workflowName === 'OrderService.placeOrder')).toBe(true);
    expect(named[0].input).toBeDefined();
    const lean = await client.list({ workflowName: 'OrderService.placeOrder', loadPayloads: false });
    expect(lean[0].input).toBeUndefined();
    const desc = await client.list({ sortDesc: true, limit: 2 });
    expect(desc).toHaveLength(2);
    expect(desc[0].createdAt.getTime()).toBeGreaterThanOrEqual(desc[1].createdAt.getTime());
    const page2 = await client.list({ limit: 2, offset: 2 });
    expect(page2[0].workflowId).toBe(all[2].workflowId);
    const future = await client.list({ createdAfter: new Date(Date.now() + 60_000) });
    expect(future).toEqual([]);
    const past = await client.list({ createdBefore: new Date(0) });
    expect(past).toEqual([]);
  });

  it('getStatus of an unknown id is null', async () => {
    await expect(client.retrieve('no-such-workflow').getStatus()).resolves.toBeNull();
  });
});
