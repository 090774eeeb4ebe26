import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, DbosNotFoundError, Step, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema } from '../support/database';
import { RunningWorkflows } from '../../lib/execution/running-workflows.table';
import { quietPeriod, waitFor } from '../support/wait';

@Injectable()
class Jobs {
  static started: string[] = [];
  constructor(private readonly dbos: DbosContext) {}

  @Step() async begin(id: string): Promise<void> {
    Jobs.started.push(id);
  }

  @Workflow() async job(): Promise<void> {
    await this.begin(this.dbos.workflowId!);
    await this.dbos.recv('go', { timeoutMs: 600_000 });
  }
}

/** Bulk cancel: all or nothing, in one transaction, so a queue never starts one of the batch meanwhile. */
describe('bulk cancel', () => {
  const schema = uniqueSchema('bulk');
  let app: INestApplicationContext;
  let client: WorkflowClient;
  const ids = Array.from({ length: 30 }, (_, n) => `bulk-${String(n).padStart(2, '0')}`);
  const statuses = async () =>
    (await sql<{ status: string }>(`SELECT status FROM "${schema}".workflow_status WHERE workflow_id LIKE 'bulk-%'`)).map((r) => r.status);

  beforeAll(async () => {
    app = await createDbosApp([Jobs], { schema, executorId: 'bulk-exec', applicationVersion: 'v1', queues: [{ name: 'jobs', concurrency: 3 }] });
    client = app.get(WorkflowClient);
    for (const workflowId of ids) await client.enqueue({ workflowName: 'Jobs.job', queue: 'jobs', workflowId });
    await waitFor(() => Jobs.started.length === 3);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  it('a batch with an unknown id cancels nothing and names the unknown ids', async () => {
    const attempt = client.cancel([...ids, 'bulk-nope-1', 'bulk-nope-2']);
    await expect(attempt).rejects.toThrow(DbosNotFoundError);
    await expect(attempt).rejects.toThrow('No workflow has the id "bulk-nope-1", "bulk-nope-2"; none of the 32 workflows was cancelled.');
    expect(await statuses()).not.toContain('CANCELLED');
    // One unknown id alone keeps its usual message.
    await expect(client.cancel('bulk-nope')).rejects.toThrow('No workflow has the id "bulk-nope".');
  });

  it('cancelling the running ones and the queued ones at once: no queued one ever starts', async () => {
    const running = [...Jobs.started];
    const queued = ids.filter((id) => !running.includes(id));
    // The running ones first: cancelled one at a time, each would free a slot the dispatcher fills from the rest.
    await client.cancel([...running, ...queued]);
    expect(await statuses()).toEqual(ids.map(() => 'CANCELLED'));
    // Their slots are free here: a queued one the dispatcher took would start now.
    await waitFor(() => app.get(RunningWorkflows).runningOnQueue('jobs') === 0, { what: 'the cancelled runs to end here' });
    await quietPeriod(1_500, 'a queued one of the batch starting would show now');
    expect(Jobs.started.sort()).toEqual(running.sort());
    const steps = await sql<{ workflow_id: string }>(`SELECT DISTINCT workflow_id FROM "${schema}".operation_outputs ORDER BY 1`);
    expect(steps.map((r) => r.workflow_id)).toEqual(running.sort());
  });

  it('a finished workflow in a batch is left as it is; the same id twice is one', async () => {
    await client.resume('bulk-00');
    await client.send('bulk-00', 'done', 'go');
    await client.retrieve('bulk-00').getResult({ timeoutMs: 10_000 });
    await client.cancel(['bulk-00', 'bulk-01', 'bulk-01']);
    expect((await client.getStatus('bulk-00'))?.status).toBe('SUCCESS');
    expect((await client.getStatus('bulk-01'))?.status).toBe('CANCELLED');
  });
});
