import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DbosContext, Workflow, WorkflowClient } from 'nestjs-dbos';
import { DbosTestingModule, DbosTestKit } from 'nestjs-dbos/testing';

const HOUR = 3_600_000;

@Injectable()
class Race {
  constructor(private readonly dbos: DbosContext) {}

  @Workflow() async runner(hours: number): Promise<number> {
    await this.dbos.sleep(hours * HOUR);
    return hours;
  }

  /** Children of 2 h and 1 h: the second finishes first. Then a day's sleep, then the winner's index. */
  @Workflow() async race(): Promise<number> {
    const handles = [await this.dbos.startWorkflow(Race).runner(2), await this.dbos.startWorkflow(Race).runner(1)];
    const first = await this.dbos.waitFirst(handles);
    await this.dbos.sleep(24 * HOUR);
    return handles.indexOf(first);
  }

  @Workflow() async all(): Promise<number[]> {
    const handles = await Promise.all([3, 1, 2].map((hours) => this.dbos.startWorkflow(Race).runner(hours)));
    return this.dbos.waitAll(handles);
  }
}

@Module({ providers: [Race] })
class RaceModule {}

describe('fan-out under the testing kit', () => {
  let app: INestApplication;
  let kit: DbosTestKit;
  let client: WorkflowClient;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [DbosTestingModule.forRoot(), RaceModule] }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
    kit = app.get(DbosTestKit);
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a parent in waitAll counts as blocked: runUntilIdle returns, advanceTime finishes it with the results in order', async () => {
    const parent = await client.start(Race).all();
    await kit.runUntilIdle();
    expect((await parent.getStatus())?.status).toBe('PENDING');
    await kit.advanceTime('3h');
    await expect(parent.getResult({ timeoutMs: 10_000 })).resolves.toEqual([3, 1, 2]);
  });

  it('a parent recovered after waitFirst gets the recorded winner, though every child has finished by then', async () => {
    const parent = await client.start(Race).race();
    await kit.advanceTime('1h'); // the 1 h child finishes: the winner, index 1
    await kit.advanceTime('1h'); // the 2 h child finishes too: a wait done again would pick index 0
    const steps = await client.listSteps(parent.workflowId);
    expect(steps.map((s) => s.name)).toEqual(['DBOS.startWorkflow', 'DBOS.startWorkflow', 'DBOS.waitFirst', 'DBOS.sleep']);
    await kit.crash();
    await kit.advanceTime('1d');
    await expect(parent.getResult({ timeoutMs: 10_000 })).resolves.toBe(1);
    expect((await parent.getStatus())?.recoveryAttempts).toBeGreaterThanOrEqual(1);
  });
});
