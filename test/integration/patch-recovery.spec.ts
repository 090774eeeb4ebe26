import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, Step, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

/** Which build of the code the next app runs. */
const build = { patched: false, shipped: [] as string[] };

@Injectable()
class DispatchService {
  constructor(private readonly dbos: DbosContext) {}

  @Step()
  async ship(id: string): Promise<void> {
    build.shipped.push(`old:${id}`);
  }

  @Step()
  async shipWithNewCarrier(id: string): Promise<void> {
    build.shipped.push(`new:${id}`);
  }

  @Workflow({ name: 'dispatch.order' })
  async order(id: string): Promise<string | null> {
    if (build.patched && (await this.dbos.patched('new-carrier'))) await this.shipWithNewCarrier(id);
    else await this.ship(id);
    return this.dbos.recv<string>('confirm', { timeoutMs: 60_000 });
  }
}

describe('patches across a restart', () => {
  const schema = uniqueSchema('patchrec');
  let app: INestApplicationContext | undefined;

  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
  });

  it('a workflow recorded before the patch recovers on patched code through the old path; a new run takes the new one', async () => {
    app = await createDbosApp([DispatchService], { schema, executorId: 'patch-exec', applicationVersion: 'same' });
    await app.get(WorkflowClient).start(DispatchService, { workflowId: 'recorded-old' }).order('recorded-old');
    await waitFor(() => build.shipped.length === 1, { what: 'the old ship step run', intervalMs: 20 });
    await app.close(); // stays PENDING, waiting for its message

    build.patched = true;
    app = await createDbosApp([DispatchService], { schema, executorId: 'patch-exec', applicationVersion: 'same' });
    const client = app.get(WorkflowClient);
    const fresh = await client.start(DispatchService, { workflowId: 'fresh' }).order('fresh');
    await client.send('recorded-old', 'ok', 'confirm');
    await client.send('fresh', 'ok', 'confirm');
    await expect(client.retrieve('recorded-old').getResult({ timeoutMs: 15_000 })).resolves.toBe('ok');
    await expect(fresh.getResult({ timeoutMs: 15_000 })).resolves.toBe('ok');
    expect(build.shipped).toEqual(['old:recorded-old', 'new:fresh']);
    expect((await client.listSteps('recorded-old')).map((s) => s.name)).not.toContain('DBOS.patch:new-carrier');
    expect((await client.listSteps('fresh')).map((s) => s.name)[0]).toBe('DBOS.patch:new-carrier');
  });
});
