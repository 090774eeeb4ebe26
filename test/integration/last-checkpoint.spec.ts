import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, Step, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { statementsDuring } from '../support/statements';
import { dropSchema, sql, uniqueSchema } from '../support/database';

/** What changes the system tables (reads and LISTEN left out). */
const writesOf = (statements: string[]) => statements.filter((text) => !/^(SELECT|LISTEN)\b/i.test(text));

@Injectable()
class Ledger {
  effects: string[] = [];
  constructor(private readonly dbos: DbosContext) {}

  @Step() async debit(n: number) {
    this.effects.push(`debit:${n}`);
    return n;
  }
  @Step() async credit(n: number) {
    this.effects.push(`credit:${n}`);
    return n * 2;
  }
  @Step() async refuse(): Promise<number> {
    throw new Error('refused by the bank');
  }

  @Workflow() async transfer(n: number) {
    await this.debit(n);
    await this.debit(n + 1);
    return this.credit(n);
  }

  @Workflow() async refused() {
    await this.debit(1);
    return this.refuse();
  }

  /** After its last step the body awaits a timer (not a step) before returning. */
  @Workflow() async slowReturn(ms: number) {
    const v = await this.credit(5);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return v;
  }

  /** Two steps at once, then return. */
  @Workflow() async both(n: number) {
    const [a, b] = await Promise.all([this.debit(n), this.credit(n)]);
    return a + b;
  }

  /** A step, then a send: the send must not be written before the step's checkpoint. */
  @Workflow() async stepThenSend(to: string) {
    const v = await this.debit(9);
    await this.dbos.send(to, v, 'topic');
    return v;
  }
}

describe('the last step checkpoint goes with the outcome', () => {
  const schema = uniqueSchema('lastcp');
  let app: INestApplicationContext;
  let ledger: Ledger;
  let client: WorkflowClient;

  beforeAll(async () => {
    app = await createDbosApp([Ledger], { schema });
    ledger = app.get(Ledger);
    client = app.get(WorkflowClient);
    await ledger.transfer(0); // warm: the first call prepares nothing the count should see
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  it('a 3-step workflow writes 4 statements: its start, two checkpoints, and the last checkpoint with the outcome', async () => {
    const writes = writesOf(await statementsDuring(schema, () => ledger.transfer(10)));
    expect(writes).toHaveLength(4);
    expect(writes[0]).toMatch(/^INSERT INTO "[^"]+".workflow_status/);
    expect(writes[1]).toMatch(/^INSERT INTO "[^"]+".operation_outputs/);
    expect(writes[2]).toMatch(/^INSERT INTO "[^"]+".operation_outputs/);
    expect(writes[3]).toMatch(/operation_outputs[\s\S]*UPDATE "[^"]+".workflow_status/);
  });

  it('every checkpoint and the outcome are recorded, in order', async () => {
    const handle = await client.start(Ledger, { workflowId: 'lastcp-order' }).transfer(3);
    await expect(handle.getResult()).resolves.toBe(6);
    const steps = await client.listSteps('lastcp-order');
    expect(steps.map((s) => [s.stepId, s.name, s.output])).toEqual([
      [0, 'Ledger.debit', 3],
      [1, 'Ledger.debit', 4],
      [2, 'Ledger.credit', 6],
    ]);
    expect(await handle.getStatus({ loadPayloads: true })).toMatchObject({ status: 'SUCCESS', output: 6 });
  });

  it('a failing last step is recorded with the ERROR outcome in the same statement', async () => {
    const writes: string[] = [];
    const handle = await client.start(Ledger, { workflowId: 'lastcp-error' }).refused();
    await expect(handle.getResult()).rejects.toThrow('refused by the bank');
    writes.push(...writesOf(await statementsDuring(schema, () => ledger.refused().catch(() => undefined))));
    expect(writes).toHaveLength(3);
    const steps = await client.listSteps('lastcp-error');
    expect(steps.map((s) => s.name)).toEqual(['Ledger.debit', 'Ledger.refuse']);
    expect(steps[1].error?.message).toBe('refused by the bank');
    expect(await handle.getStatus()).toMatchObject({ status: 'ERROR' });
  });

  it('steps that finish side by side (Promise.all) are all recorded, the last one with the outcome', async () => {
    const handle = await client.start(Ledger, { workflowId: 'lastcp-both' }).both(4);
    await expect(handle.getResult()).resolves.toBe(12);
    const steps = await client.listSteps('lastcp-both');
    expect(steps.map((s) => [s.stepId, s.name, s.output])).toEqual([
      [0, 'Ledger.debit', 4],
      [1, 'Ledger.credit', 8],
    ]);
  });

  it('a body that awaits anything else after its last step has that checkpoint written on its own meanwhile', async () => {
    const handle = await client.start(Ledger, { workflowId: 'lastcp-slow' }).slowReturn(1_500);
    const deadline = Date.now() + 1_000;
    let rows: unknown[] = [];
    while (Date.now() < deadline && rows.length === 0) {
      rows = await sql(`SELECT 1 FROM "${schema}".operation_outputs WHERE workflow_id = 'lastcp-slow' AND step_id = 0`);
      if (rows.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Recorded while the body still waits (it returns at 1.5 s).
    expect(rows).toHaveLength(1);
    expect((await handle.getStatus())?.status).toBe('PENDING');
    await expect(handle.getResult()).resolves.toBe(10);
  });

  it('an operation after a step is written only after that step is recorded', async () => {
    await client.start(Ledger, { workflowId: 'lastcp-receiver' }).transfer(0); // any workflow as destination
    await client.retrieve('lastcp-receiver').getResult();
    const handle = await client.start(Ledger, { workflowId: 'lastcp-send' }).stepThenSend('lastcp-receiver');
    await expect(handle.getResult()).resolves.toBe(9);
    const steps = await client.listSteps('lastcp-send');
    expect(steps.map((s) => s.name)).toEqual(['Ledger.debit', 'DBOS.send']);
    // The step's row is older than the send's (its own write came first, not merged later).
    const [step, send] = await sql<{ xmin: string }>(`SELECT xmin::text FROM "${schema}".operation_outputs WHERE workflow_id = 'lastcp-send' ORDER BY step_id`);
    expect(BigInt(step.xmin)).toBeLessThan(BigInt(send.xmin));
  });
});
