import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DbosContext, DbosInvalidArgumentError, Workflow, WorkflowClient } from 'nestjs-dbos';
import { DbosTestingModule, DbosTestKit } from 'nestjs-dbos/testing';

/** A third-party client: its methods cannot carry @Step. */
class PaymentsApi {
  calls: string[] = [];
  failuresLeft = 0;

  async charge(orderId: string, cents: number): Promise<{ chargeId: string }> {
    this.calls.push(orderId);
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('payments API: 503');
    }
    return { chargeId: `ch_${orderId}_${cents}` };
  }
}

@Injectable()
class CheckoutService {
  constructor(
    private readonly dbos: DbosContext,
    readonly api: PaymentsApi,
  ) {}

  @Workflow()
  async checkout(orderId: string): Promise<string> {
    const { chargeId } = await this.dbos.runStep(() => this.api.charge(orderId, 4_200), {
      name: 'charge',
      retries: { maxAttempts: 3, intervalMs: 10 },
    });
    const confirmation = await this.dbos.recv<string>('confirm', { timeoutMs: 60_000 });
    return `${chargeId}:${confirmation}`;
  }

  @Workflow()
  async unnamed(): Promise<number> {
    return this.dbos.runStep(function readMeter() {
      return 7;
    });
  }

  @Workflow()
  async notAFunction(): Promise<unknown> {
    return this.dbos.runStep(42 as unknown as () => number);
  }
}

describe('DbosContext.runStep: an inline step', () => {
  let app: INestApplication;
  let client: WorkflowClient;
  let kit: DbosTestKit;
  let api: PaymentsApi;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DbosTestingModule.forRoot()],
      providers: [CheckoutService, PaymentsApi],
    }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
    client = app.get(WorkflowClient);
    kit = app.get(DbosTestKit);
    api = app.get(PaymentsApi);
  });

  afterAll(() => app.close());

  beforeEach(() => {
    api.calls = [];
    api.failuresLeft = 0;
  });

  it('is checkpointed under its name and retried like a @Step', async () => {
    api.failuresLeft = 1;
    const handle = await client.start(CheckoutService).checkout('o-1');
    await kit.runUntilIdle();
    await client.send(handle.workflowId, 'ok', 'confirm');
    await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toBe('ch_o-1_4200:ok');
    expect(api.calls).toEqual(['o-1', 'o-1']);
    const steps = await client.listSteps(handle.workflowId);
    expect(steps[0]).toMatchObject({ stepId: 0, name: 'charge', output: { chargeId: 'ch_o-1_4200' } });
  });

  it('after a crash the recovered workflow gets the recorded result without calling the API again', async () => {
    const handle = await client.start(CheckoutService).checkout('o-2');
    await kit.runUntilIdle();
    expect(api.calls).toEqual(['o-2']);
    await kit.crash();
    await kit.runUntilIdle();
    await client.send(handle.workflowId, 'ok', 'confirm');
    await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toBe('ch_o-2_4200:ok');
    expect(api.calls).toEqual(['o-2']);
  });

  it("takes the function's name when no name is given, and refuses what is not a function", async () => {
    const named = await client.start(CheckoutService).unnamed();
    await expect(named.getResult({ timeoutMs: 10_000 })).resolves.toBe(7);
    expect((await client.listSteps(named.workflowId)).map((s) => s.name)).toEqual(['readMeter']);
    const bad = await client.start(CheckoutService).notAFunction();
    await expect(bad.getResult({ timeoutMs: 10_000 })).rejects.toThrow(/runStep\(fn, options\) needs a function as fn, got number/);
    await expect(bad.getResult({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(DbosInvalidArgumentError);
  });

  it('outside a workflow the function simply runs', async () => {
    const dbos = app.get(DbosContext);
    await expect(dbos.runStep(() => api.charge('o-3', 1))).resolves.toEqual({ chargeId: 'ch_o-3_1' });
    expect(api.calls).toEqual(['o-3']);
  });
});
