import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, DbosNondeterminismError, Step, Workflow, WorkflowClient, WorkflowReplayer } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

/** The code of the workflow as it changes between "deploys" (one process: the body reads `code`). */
type Code = 'v1' | 'changed' | 'shorter' | 'longer' | 'patched' | 'deprecated';

@Injectable()
class ShippingService {
  code: Code = 'v1';
  shipped: string[] = [];

  constructor(private readonly dbos: DbosContext) {}

  @Step()
  async reserve(id: string): Promise<string> {
    return `res-${id}`;
  }

  @Step()
  async ship(id: string): Promise<void> {
    this.shipped.push(`old:${id}`);
  }

  @Step()
  async shipWithNewCarrier(id: string): Promise<void> {
    this.shipped.push(`new:${id}`);
  }

  @Step()
  async notify(): Promise<void> {}

  @Workflow({ name: 'shipping.order' })
  async order(id: string): Promise<string> {
    const reservation = await this.reserve(id);
    if (this.code === 'changed') await this.shipWithNewCarrier(id);
    else if (this.code === 'patched') await ((await this.dbos.patched('new-carrier')) ? this.shipWithNewCarrier(id) : this.ship(id));
    else if (this.code === 'deprecated') {
      await this.dbos.deprecatePatch('new-carrier');
      await this.shipWithNewCarrier(id);
    } else if (this.code !== 'shorter') await this.ship(id);
    if (this.code === 'longer') await this.notify();
    return reservation;
  }

  @Workflow({ name: 'shipping.waiting' })
  async waiting(id: string): Promise<string | null> {
    await this.reserve(id);
    const answer = await this.dbos.recv<string>('go', { timeoutMs: 60_000 });
    await this.ship(id);
    return answer;
  }
}

describe('replay checks and patches', () => {
  const schema = uniqueSchema('replay');
  let app: INestApplicationContext;
  let service: ShippingService;
  let client: WorkflowClient;
  let replayer: WorkflowReplayer;

  beforeAll(async () => {
    app = await createDbosApp([ShippingService], { schema, executorId: 'replay-exec' });
    service = app.get(ShippingService);
    client = app.get(WorkflowClient);
    replayer = app.get(WorkflowReplayer);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
  });
  beforeEach(() => {
    service.code = 'v1';
    service.shipped = [];
  });

  async function recordOrder(id: string, code: Code): Promise<void> {
    service.code = code;
    await (await client.start(ShippingService, { workflowId: id }).order(id)).getResult();
  }

  async function divergenceOf(workflowId: string): Promise<DbosNondeterminismError> {
    const err = await replayer.replay(workflowId).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DbosNondeterminismError);
    return err as DbosNondeterminismError;
  }

  it('replays unchanged code without running any step', async () => {
    await recordOrder('same-1', 'v1');
    service.shipped = [];
    await expect(replayer.replay('same-1')).resolves.toBeUndefined();
    expect(service.shipped).toEqual([]);
    expect((await client.listSteps('same-1')).map((s) => s.name)).toEqual(['ShippingService.reserve', 'ShippingService.ship']);
  });

  it('names the position, the recorded and the new step when a step changed', async () => {
    await recordOrder('changed-1', 'v1');
    service.code = 'changed';
    const err = await divergenceOf('changed-1');
    expect([err.stepId, err.recordedName, err.calledName]).toEqual([1, 'ShippingService.ship', 'ShippingService.shipWithNewCarrier']);
    expect(err.message).toContain('step 1 was recorded as "ShippingService.ship"');
    expect(service.shipped).toEqual(['old:changed-1']);
  });

  it('reports a recorded step the new code never reaches, and a step the recorded run never took', async () => {
    await recordOrder('fewer-1', 'v1');
    service.code = 'shorter';
    const fewer = await divergenceOf('fewer-1');
    expect([fewer.stepId, fewer.recordedName, fewer.calledName]).toEqual([1, 'ShippingService.ship', null]);
    service.code = 'longer';
    const more = await divergenceOf('fewer-1');
    expect([more.stepId, more.recordedName, more.calledName]).toEqual([2, null, 'ShippingService.notify']);
  });

  it('a workflow recorded before a patch replays on patched code through the old path; new runs take the new path', async () => {
    await recordOrder('before-patch', 'v1');
    service.code = 'patched';
    service.shipped = [];
    await expect(replayer.replay('before-patch')).resolves.toBeUndefined();
    expect(service.shipped).toEqual([]);
    await recordOrder('after-patch', 'patched');
    expect(service.shipped).toEqual(['new:after-patch']);
    expect((await client.listSteps('after-patch')).map((s) => s.name)).toEqual([
      'ShippingService.reserve',
      'DBOS.patch:new-carrier',
      'ShippingService.shipWithNewCarrier',
    ]);
    await expect(replayer.replay('after-patch')).resolves.toBeUndefined();
    // The same change without the patch does not replay the old workflow.
    service.code = 'changed';
    expect((await divergenceOf('before-patch')).stepId).toBe(1);
  });

  it('deprecatePatch consumes the marker of runs recorded with the patch and nothing else', async () => {
    await recordOrder('with-marker', 'patched');
    service.code = 'deprecated';
    await expect(replayer.replay('with-marker')).resolves.toBeUndefined();
    await recordOrder('deprecated-run', 'deprecated');
    expect((await client.listSteps('deprecated-run')).map((s) => s.name)).toEqual(['ShippingService.reserve', 'ShippingService.shipWithNewCarrier']);
    await expect(replayer.replay('deprecated-run')).resolves.toBeUndefined();
  });

  it('a PENDING workflow replays up to its frontier without consuming its message or running anything', async () => {
    const handle = await client.start(ShippingService, { workflowId: 'pending-1' }).waiting('pending-1');
    await waitFor(async () => (await client.listSteps('pending-1')).length >= 2, { what: 'two steps of pending-1 recorded', intervalMs: 20 });
    await expect(replayer.replay('pending-1')).resolves.toBeUndefined();
    expect(service.shipped).toEqual([]);
    await client.send('pending-1', 'yes', 'go');
    await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toBe('yes');
    expect(service.shipped).toEqual(['old:pending-1']);
  });

  it('a PENDING workflow whose recorded steps the new code does not take fails the check', async () => {
    await client.start(ShippingService, { workflowId: 'pending-2' }).waiting('pending-2');
    await waitFor(async () => (await client.listSteps('pending-2')).length >= 2, { what: 'two steps of pending-2 recorded', intervalMs: 20 });
    service.code = 'changed';
    const original = service.reserve;
    service.reserve = service.notify as never; // as if the first step were renamed
    try {
      const err = await divergenceOf('pending-2');
      expect([err.stepId, err.recordedName]).toEqual([0, 'ShippingService.reserve']);
    } finally {
      service.reserve = original;
      await client.cancel('pending-2');
    }
  });
});
