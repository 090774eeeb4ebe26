import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Workflow, WorkflowClient } from 'nestjs-dbos';
import { DbosTestingModule, DbosTestKit } from 'nestjs-dbos/testing';

const HOUR = 3_600_000;

@Injectable()
class Reports {
  static ran: string[] = [];

  @Workflow() async rebuild(version: string): Promise<string> {
    Reports.ran.push(version);
    return version;
  }
}

/** A debounced burst waits on the module's workflow clock: DbosTestKit.advanceTime moves it, as it moves queue delays. */
describe('debounce under DbosTestingModule', () => {
  let app: INestApplication;
  let kit: DbosTestKit;
  let client: WorkflowClient;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [DbosTestingModule.forRoot()], providers: [Reports] }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
    kit = app.get(DbosTestKit);
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a burst with a one-hour period runs once, an hour of test time after its last call, with its arguments', async () => {
    const debounce = (version: string) => client.debounce('nightly-report', { periodMs: HOUR }, Reports).rebuild(version);
    const first = await debounce('v1');
    await kit.advanceTime('50m');
    const second = await debounce('v2'); // within the period: the wait starts again
    expect(second.workflowId).toBe(first.workflowId);
    await kit.advanceTime('50m');
    expect((await first.getStatus())!.status).toBe('ENQUEUED');
    expect(Reports.ran).toEqual([]);
    await kit.advanceTime('10m');
    await expect(first.getResult({ timeoutMs: 10_000 })).resolves.toBe('v2');
    expect(Reports.ran).toEqual(['v2']);
  });
});
