import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DbosContext, DbosModule, Step, Workflow, WorkflowClient } from '../../lib';
import type { DbosDatabase } from '../../lib/dbos.database';
import { DBOS_SYSTEM_DATABASE } from '../../lib/dbos.constants';
import { WorkflowRegistry } from '../../lib/discovery/workflow.registry';
import { RecoveryService } from '../../lib/recovery/recovery.service';
import { WorkflowResumer } from '../../lib/recovery/workflow.resumer';
import { serialize } from '../../lib/serialization/value.codec';
import { createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { waitFor } from '../support/wait';

const VERSION = 'edges-v1';

@Injectable()
class Edgy {
  static stepRuns = 0;

  constructor(private readonly dbos: DbosContext) {}

  @Step() async once(): Promise<string> {
    Edgy.stepRuns++;
    return 'ran';
  }

  @Workflow() async single(): Promise<string> {
    return this.once();
  }

  /** A body that catches everything, the shutdown's interruption of its sleep included. */
  @Workflow() async swallowingRecv(): Promise<string> {
    try {
      return (await this.dbos.recv<string>('never', { timeoutMs: 60_000 })) ?? 'timeout';
    } catch {
      return 'fallback';
    }
  }

  @Workflow() async swallowing(): Promise<string> {
    try {
      await this.dbos.sleep(60_000);
      return 'woke';
    } catch {
      return 'fallback';
    }
  }
}

describe('run ownership at the edges', () => {
  const schema = uniqueSchema('edges');
  afterAll(() => dropSchema(schema));

  it('two concurrent resumes of one PENDING workflow run it once', async () => {
    const app = await createDbosApp([Edgy], { schema, executorId: 'edges-a', applicationVersion: VERSION });
    try {
      // Startup recovery (in the background) would take the row below itself: let it finish first.
      await app.get(RecoveryService).whenRecovered();
      await sql(
        `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, class_name, inputs, executor_id, application_version, created_at, updated_at)
         VALUES ('twice', 'PENDING', 'Edgy.single', 'Edgy', $1, 'edges-a', $2, 1, 1)`,
        [serialize([]), VERSION],
      );
      const resumer = app.get(WorkflowResumer);
      const pending = (await (app.get(DBOS_SYSTEM_DATABASE) as DbosDatabase).repositories.listing.get('twice'))!;
      const registration = app.get(WorkflowRegistry).getWorkflow('Edgy.single')!;
      Edgy.stepRuns = 0;
      const won = await Promise.all([resumer.resumePending(pending, registration), resumer.resumePending(pending, registration)]);
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(await app.get(WorkflowClient).retrieve('twice').getResult({ timeoutMs: 10_000 })).toBe('ran');
      expect(Edgy.stepRuns).toBe(1);
      const [after] = await sql<{ recovery_attempts: number }>(`SELECT recovery_attempts FROM "${schema}".workflow_status WHERE workflow_id = 'twice'`);
      expect(after.recovery_attempts).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('a workflow awaited during module init (before heartbeats start) is not held at the step gate', async () => {
    @Injectable()
    class InitRunner implements OnModuleInit {
      result?: string;
      constructor(private readonly edgy: Edgy) {}
      async onModuleInit(): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 800)); // longer than half the lease
        this.result = await this.edgy.single();
      }
    }
    @Module({
      imports: [
        DbosModule.forRoot({
          database: databaseOptions(),
          schema,
          executorId: 'edges-init',
          applicationVersion: VERSION,
          recovery: { executorLeaseMs: 1_000 },
        }),
      ],
      providers: [Edgy, InitRunner],
    })
    class InitModule {}
    const moduleRef = await Test.createTestingModule({ imports: [InitModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: ['error'] });
    const started = Date.now();
    await app.init();
    try {
      expect(app.get(InitRunner).result).toBe('ran');
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      await app.close();
    }
  });

  it.each([
    ['a sleep', 'swallow-sleep', 'swallowing'],
    ['a recv', 'swallow-recv', 'swallowingRecv'],
  ] as const)('a body that catches the shutdown interruption of %s and returns records no result', async (_what, workflowId, method) => {
    const options = { schema, executorId: `edges-${workflowId}`, applicationVersion: VERSION };
    const app = await createDbosApp([Edgy], options);
    await app.get(WorkflowClient).start(Edgy, { workflowId })[method]();
    // Waiting: its deadline (DBOS.sleep or DBOS.recvDeadline, step 0) is recorded before the wait.
    await waitFor(async () => (await sql(`SELECT 1 FROM "${schema}".operation_outputs WHERE workflow_id = $1`, [workflowId])).length > 0, {
      what: `${workflowId} waiting`,
    });
    await app.close();
    const [row] = await sql<{ status: string; output: string | null }>(`SELECT status, output FROM "${schema}".workflow_status WHERE workflow_id = $1`, [
      workflowId,
    ]);
    expect(row).toEqual({ status: 'PENDING', output: null });
  });
});
