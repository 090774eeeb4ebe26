import { Injectable } from '@nestjs/common';
import { DbosContext, RecoveryService, Step, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema } from '../support/database';

@Injectable()
class Backlog {
  @Workflow() async noop(): Promise<string> {
    return 'done';
  }
}

@Injectable()
class Waiter {
  static stepRuns = new Map<string, number>();
  constructor(private readonly dbos: DbosContext) {}

  @Step() async mark(): Promise<void> {
    const id = this.dbos.workflowId!;
    Waiter.stepRuns.set(id, (Waiter.stepRuns.get(id) ?? 0) + 1);
  }

  @Workflow() async waitForGo(): Promise<string> {
    await this.mark();
    return (await this.dbos.recv<string>('go', { timeoutMs: 60_000 })) ?? 'timeout';
  }
}

describe('restart recovery and the workflows this process starts meanwhile', () => {
  const schema = uniqueSchema('recnew');
  afterAll(() => dropSchema(schema));

  it('recovery takes only what an earlier life left PENDING, never a workflow started while it runs', async () => {
    const options = { schema, executorId: 'recnew-exec', applicationVersion: 'v1' };
    // An earlier life of this executor left a backlog of PENDING workflows (recovery claims them in batches).
    const first = await createDbosApp([Backlog, Waiter], options);
    await first.close();
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, class_name, inputs, executor_id, application_version, created_at, updated_at)
       SELECT 'backlog-' || n, 'PENDING', 'Backlog.noop', 'Backlog', '[]', 'recnew-exec', 'v1', n, n FROM generate_series(1, 3000) AS n`,
    );

    const app = await createDbosApp([Backlog, Waiter], options);
    try {
      const client = app.get(WorkflowClient);
      // Started while recovery works through the backlog; they wait for a message, so they stay PENDING.
      const handles = await Promise.all(Array.from({ length: 20 }, (_, i) => client.start(Waiter, { workflowId: `fresh-${i}` }).waitForGo()));
      expect(await app.get(RecoveryService).whenRecovered()).toBe(3000);
      const fresh = await sql<{ workflow_id: string; recovery_attempts: number; run_epoch: number }>(
        `SELECT workflow_id, recovery_attempts, run_epoch FROM "${schema}".workflow_status WHERE workflow_id LIKE 'fresh-%'`,
      );
      expect(fresh).toHaveLength(20);
      expect(fresh.filter((r) => r.recovery_attempts !== 0 || Number(r.run_epoch) !== 0)).toEqual([]);
      for (const handle of handles) await client.send(handle.workflowId, 'go', 'go');
      for (const handle of handles) expect(await handle.getResult({ timeoutMs: 20_000 })).toBe('go');
      expect([...Waiter.stepRuns.entries()].filter(([id, runs]) => id.startsWith('fresh-') && runs !== 1)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
