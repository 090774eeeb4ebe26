import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosSerializationError, DbosWorkflowCancelledError, Step, Workflow, WorkflowClient } from '../../lib';
import { ExecutorRepository } from '../../lib/system-database/executor.repository';
import { SystemDatabase } from '../../lib/system-database/system.database';
import { RecoveryRepository } from '../../lib/system-database/recovery.repository';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

const THIRTY_DAYS = 30 * 86_400_000;

@Injectable()
class Edgy {
  static attempts = 0;

  @Step({ retries: { maxAttempts: 10, intervalMs: 300, backoffRate: 1 } })
  async alwaysFails(): Promise<void> {
    Edgy.attempts++;
    throw new Error('flaky dependency');
  }

  @Workflow() async retrying(): Promise<void> {
    await this.alwaysFails();
  }

  @Workflow({ timeoutMs: THIRTY_DAYS }) async longDeadline(): Promise<string> {
    return 'in time';
  }
}

describe('edge cases of cancellation, ownership and stored data', () => {
  const schema = uniqueSchema('edge');
  let app: INestApplicationContext;
  let client: WorkflowClient;

  beforeAll(async () => {
    app = await createDbosApp([Edgy], { schema, executorId: 'edge-exec', applicationVersion: 'v1' });
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  it('a 30-day workflow timeout does not cancel the workflow at once', async () => {
    await expect(
      client
        .start(Edgy)
        .longDeadline()
        .then((h) => h.getResult({ timeoutMs: 10_000 })),
    ).resolves.toBe('in time');
  });

  it('cancelling a workflow stops the retries of its running step', async () => {
    Edgy.attempts = 0;
    const handle = await client.start(Edgy, { workflowId: 'retry-cancel' }).retrying();
    await waitFor(() => Edgy.attempts >= 1);
    await client.cancel('retry-cancel');
    const started = Date.now();
    await expect(handle.getResult({ timeoutMs: 10_000 })).rejects.toThrow(DbosWorkflowCancelledError);
    expect(Date.now() - started).toBeLessThan(1_000);
    const attemptsAtCancel = Edgy.attempts;
    await quietPeriod(700, 'a retry after the cancel would show now');
    expect(Edgy.attempts).toBe(attemptsAtCancel);
    expect(Edgy.attempts).toBeLessThanOrEqual(2);
  });

  it('a workflow whose stored arguments are corrupt fails with a clear error instead of retrying forever', async () => {
    const now = Date.now();
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, inputs, executor_id, application_version, created_at, updated_at)
       VALUES ('bad-inputs', 'PENDING', 'Edgy.longDeadline', '[not json', 'edge-exec', 'v1', $1, $1)`,
      [now],
    );
    const restarted = await createDbosApp([Edgy], { schema, executorId: 'edge-exec', applicationVersion: 'v1' });
    try {
      const error = await restarted
        .get(WorkflowClient)
        .retrieve('bad-inputs')
        .getResult({ timeoutMs: 10_000 })
        .catch((e: Error) => e);
      expect(error).toBeInstanceOf(DbosSerializationError);
      expect((error as Error).message).toMatch(/recorded arguments of workflow "bad-inputs".*corrupt/);
    } finally {
      await restarted.close();
    }
  });

  it('adoption re-checks that the owner is still silent, and recovery only takes back its own rows', async () => {
    const db = await SystemDatabase.open({ url: databaseUrl(), schema, runMigrations: false });
    try {
      const executors = new ExecutorRepository(db);
      const recovery = new RecoveryRepository(db);
      const now = Date.now();
      await sql(
        `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, inputs, executor_id, application_version, created_at, updated_at)
         VALUES ('owned', 'PENDING', 'Edgy.longDeadline', '[]', 'owner', 'v1', $1, $1)`,
        [now - 60_000],
      );
      await executors.register(db.pool, { executorId: 'owner', applicationVersion: 'v1', hostname: 'h', pid: 1, instanceId: 'i' });
      const adopt = () => executors.adoptBatch('v1', 'adopter', 30_000, ['Edgy.longDeadline'], 10);
      expect(await adopt()).toEqual([]); // the owner heartbeated: hands off
      await sql(`UPDATE "${schema}".executors SET heartbeat_at = $1 WHERE executor_id = 'owner'`, [now - 60_000]);
      expect((await adopt()).map(({ row, previousExecutorId }) => [row.executorId, previousExecutorId])).toEqual([['adopter', 'owner']]);
      expect(await recovery.claimForRecovery('owned', 'owner', 0)).toBeNull(); // adopted: the old owner cannot take it back
    } finally {
      await db.close();
    }
  });
});
