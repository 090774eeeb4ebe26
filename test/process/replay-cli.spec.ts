import { WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { ChildApp } from '../support/child-app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { ParcelService } from '../fixtures/replay-app';

describe('nestjs-dbos replay (a real subprocess)', () => {
  const schema = uniqueSchema('replaycli');

  beforeAll(async () => {
    // Recorded by the v1 build (this process loads the fixture without REPLAY_APP_BUILD).
    const app = await createDbosApp([ParcelService], { schema, executorId: 'replay-recorder' });
    const client = app.get(WorkflowClient);
    for (const id of ['p-1', 'p-2']) await (await client.start(ParcelService, { workflowId: id }).send(id)).getResult();
    await app.close();
  });
  afterAll(() => dropSchema(schema));

  async function replayWith(build: string, extra: string[] = []) {
    const child = ChildApp.run('lib/cli/main.ts', {
      args: ['replay', '--module', 'test/fixtures/replay-app.ts', '--export', 'ParcelModule', ...extra],
      env: { DATABASE_URL: databaseUrl(), DBOS_SCHEMA: schema, REPLAY_APP_BUILD: build, NO_COLOR: '1' },
    });
    return { exit: await child.exit, out: child.stdout, err: child.stderr };
  }

  it('exits 0 when the new code takes the recorded steps, and writes nothing', async () => {
    const before = await sql(`SELECT count(*)::int AS n FROM ${schema}.operation_outputs`);
    const { exit, out } = await replayWith('compatible', ['--since', '7d', '--name', 'parcel.send']);
    expect(out).toContain('Replayed 2 workflow(s): all take their recorded steps.');
    expect(exit.code).toBe(0);
    expect(await sql(`SELECT count(*)::int AS n FROM ${schema}.operation_outputs`)).toEqual(before);
    expect(await sql(`SELECT count(*)::int AS n FROM ${schema}.executors`)).toEqual([{ n: 0 }]);
  }, 60_000);

  it('exits 1 and prints each divergence (workflow, position, recorded vs new) when a step changed', async () => {
    const { exit, out } = await replayWith('changed', ['--limit', '5']);
    expect(out).toContain('DIVERGES p-1 (parcel.send, SUCCESS) at step 1: recorded ParcelService.ship, new code calls ParcelService.shipByDrone');
    expect(out).toContain('DIVERGES p-2 (parcel.send, SUCCESS) at step 1');
    expect(out).toContain('2 diverge');
    expect(exit.code).toBe(1);
  }, 60_000);
});
