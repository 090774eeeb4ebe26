import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Client } from 'pg';
import { DbosMaxRecoveryAttemptsError, DbosNondeterminismError, RecoveryService, Step, Workflow, WorkflowClient } from '../../lib';
import { serialize, serializeError } from '../../lib/serialization/value.codec';
import { RecoveryRepository } from '../../lib/system-database/recovery.repository';
import { beginClose, createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

const EXECUTOR = 'recovery-exec';
const VERSION = 'v1';

@Injectable()
class Pipeline {
  static calls: string[] = [];
  static gate: Promise<void> = Promise.resolve();

  @Step() async one(n: number): Promise<number> {
    Pipeline.calls.push('one');
    return n * 2;
  }

  @Step() async two(n: number): Promise<number> {
    Pipeline.calls.push('two');
    await Pipeline.gate;
    return n + 1;
  }

  @Workflow() async run(n: number): Promise<number> {
    const a = await this.one(n);
    return this.two(a);
  }

  @Step() async three(n: number): Promise<number> {
    Pipeline.calls.push('three');
    return n * 10;
  }

  @Workflow() async long(n: number): Promise<number> {
    return this.three(await this.two(await this.one(n)));
  }

  @Workflow({ maxRecoveryAttempts: 1 }) async fragile(n: number): Promise<number> {
    return this.one(n);
  }
}

interface SeedOptions {
  workflowId: string;
  name?: string;
  args?: unknown[];
  executorId?: string;
  version?: string;
  recoveryAttempts?: number;
  steps?: { name: string; output?: unknown; error?: Error }[];
}

async function seedPending(schema: string, o: SeedOptions): Promise<void> {
  const now = Date.now();
  await sql(
    `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, class_name, inputs, executor_id,
       application_version, recovery_attempts, created_at, updated_at)
     VALUES ($1, 'PENDING', $2, 'Pipeline', $3, $4, $5, $6, $7, $7)`,
    [o.workflowId, o.name ?? 'Pipeline.run', serialize(o.args ?? [5]), o.executorId ?? EXECUTOR, o.version ?? VERSION, o.recoveryAttempts ?? 0, now],
  );
  for (const [i, step] of (o.steps ?? []).entries()) {
    await sql(
      `INSERT INTO "${schema}".operation_outputs (workflow_id, step_id, step_name, output, error, started_at, completed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6)`,
      [o.workflowId, i, step.name, step.error ? null : serialize(step.output), step.error ? serializeError(step.error) : null, now],
    );
  }
}

describe('recovery at bootstrap', () => {
  const schema = uniqueSchema('rec');
  let app: INestApplicationContext | undefined;

  const start = async () => {
    app = await createDbosApp([Pipeline], { schema, executorId: EXECUTOR, applicationVersion: VERSION, recovery: { maxRecoveryAttempts: 2 } });
    return app;
  };

  beforeAll(async () => {
    // Create the schema, then stop: the tests seed rows as a crashed executor would have left them.
    await (await start()).close();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    Pipeline.calls = [];
    Pipeline.gate = Promise.resolve();
    await sql(`DELETE FROM "${schema}".workflow_status`);
    await sql(`DELETE FROM "${schema}".operation_outputs`);
  });
  afterAll(() => dropSchema(schema));

  it('resumes a PENDING workflow from its last completed step without re-running earlier steps', async () => {
    await seedPending(schema, { workflowId: 'resume-1', steps: [{ name: 'Pipeline.one', output: 10 }] });
    const client = (await start()).get(WorkflowClient);
    await expect(client.retrieve('resume-1').getResult({ timeoutMs: 10_000 })).resolves.toBe(11);
    expect(Pipeline.calls).toEqual(['two']);
    const status = await client.retrieve('resume-1').getStatus();
    expect(status).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1 });
  });

  /** A transaction holding the row of `workflowId` as a waiter's mark (ListingRepository.watchOutcomes) does, until `release`. */
  async function holdRow(workflowId: string): Promise<{ release(): Promise<void> }> {
    const holder = new Client({ connectionString: databaseUrl() });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM "${schema}".workflow_status WHERE workflow_id = $1 FOR NO KEY UPDATE`, [workflowId]);
    let released: Promise<void> | undefined;
    return { release: () => (released ??= holder.query('COMMIT').then(() => holder.end())) };
  }

  it('a row another transaction holds while its batch is claimed (a waiter marking it watched) is still recovered in that pass', async () => {
    await seedPending(schema, { workflowId: 'resume-held', steps: [{ name: 'Pipeline.one', output: 10 }] });
    // Told when the pass's batch claim has run (and passed the held row over).
    let claimed!: () => void;
    const batchClaimed = new Promise<void>((resolve) => (claimed = resolve));
    const claimBatch = RecoveryRepository.prototype.claimPendingBatch;
    const spy = jest.spyOn(RecoveryRepository.prototype, 'claimPendingBatch').mockImplementation(async function (this: RecoveryRepository, ...args) {
      const rows = await claimBatch.apply(this, args);
      claimed();
      return rows;
    });
    const mark = await holdRow('resume-held');
    try {
      const a = await start();
      await batchClaimed;
      await mark.release(); // a mark holds its row for a moment
      await expect(a.get(RecoveryService).whenRecovered()).resolves.toBe(1);
      // Not left to the periodic sweep (every 15 s here, and only for rows untouched for 5 s).
      await expect(a.get(WorkflowClient).retrieve('resume-held').getResult({ timeoutMs: 4_000 })).resolves.toBe(11);
      expect(Pipeline.calls).toEqual(['two']);
    } finally {
      spy.mockRestore();
      await mark.release();
    }
  });

  it('a row held past the pass does not hold up the end of recovery: the sweep resumes it once it is free', async () => {
    await seedPending(schema, { workflowId: 'resume-held-long', steps: [{ name: 'Pipeline.one', output: 10 }] });
    const lock = await holdRow('resume-held-long');
    // A short lease: the sweep runs every second (rows untouched for 5 s).
    app = await createDbosApp([Pipeline], { schema, executorId: EXECUTOR, applicationVersion: VERSION, recovery: { executorLeaseMs: 2_000 } });
    try {
      const started = Date.now();
      await expect(app.get(RecoveryService).whenRecovered()).resolves.toBe(0);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await lock.release();
    }
    await expect(app.get(WorkflowClient).retrieve('resume-held-long').getResult({ timeoutMs: 15_000 })).resolves.toBe(11);
    expect(Pipeline.calls).toEqual(['two']);
  }, 30_000);

  it('replays a recorded step error without running the step', async () => {
    const boom = new RangeError('recorded failure');
    await seedPending(schema, { workflowId: 'resume-err', steps: [{ name: 'Pipeline.one', error: boom }] });
    const client = (await start()).get(WorkflowClient);
    const error = await client
      .retrieve('resume-err')
      .getResult({ timeoutMs: 10_000 })
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe('recorded failure');
    expect(Pipeline.calls).toEqual([]);
  });

  it('a different step at a recorded position is a DbosNondeterminismError naming workflow, position and both names', async () => {
    await seedPending(schema, { workflowId: 'resume-nd', steps: [{ name: 'Pipeline.somethingElse', output: 1 }] });
    const client = (await start()).get(WorkflowClient);
    const error = await client
      .retrieve('resume-nd')
      .getResult({ timeoutMs: 10_000 })
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(DbosNondeterminismError);
    expect((error as Error).message).toContain('"resume-nd"');
    expect((error as Error).message).toContain('step 0');
    expect((error as Error).message).toContain('"Pipeline.somethingElse"');
    expect((error as Error).message).toContain('"Pipeline.one"');
    expect(Pipeline.calls).toEqual([]);
  });

  it('after maxRecoveryAttempts a workflow becomes MAX_RECOVERY_ATTEMPTS_EXCEEDED and awaiters get DbosMaxRecoveryAttemptsError', async () => {
    await seedPending(schema, { workflowId: 'resume-max', recoveryAttempts: 2 });
    await seedPending(schema, { workflowId: 'resume-max-wf', name: 'Pipeline.fragile', recoveryAttempts: 1 });
    const a = await start();
    await a.get(RecoveryService).whenRecovered();
    const client = a.get(WorkflowClient);
    await expect(client.retrieve('resume-max').getResult({ timeoutMs: 10_000 })).rejects.toThrow(DbosMaxRecoveryAttemptsError);
    await expect(client.retrieve('resume-max-wf').getResult({ timeoutMs: 10_000 })).rejects.toThrow(DbosMaxRecoveryAttemptsError);
    expect((await client.retrieve('resume-max').getStatus())!.status).toBe('MAX_RECOVERY_ATTEMPTS_EXCEEDED');
    expect(Pipeline.calls).toEqual([]);
  });

  it('leaves workflows of other executors, other versions and unknown names PENDING', async () => {
    await seedPending(schema, { workflowId: 'other-exec', executorId: 'someone-else' });
    await seedPending(schema, { workflowId: 'other-version', version: 'v0' });
    await seedPending(schema, { workflowId: 'unknown-name', name: 'Gone.workflow' });
    const a = await start();
    await expect(a.get(RecoveryService).whenRecovered()).resolves.toBe(0);
    const rows = await sql<{ workflow_id: string; status: string; recovery_attempts: number }>(
      `SELECT workflow_id, status, recovery_attempts FROM "${schema}".workflow_status ORDER BY workflow_id`,
    );
    expect(rows).toEqual([
      { workflow_id: 'other-exec', status: 'PENDING', recovery_attempts: 0 },
      { workflow_id: 'other-version', status: 'PENDING', recovery_attempts: 0 },
      { workflow_id: 'unknown-name', status: 'PENDING', recovery_attempts: 0 },
    ]);
    expect(Pipeline.calls).toEqual([]);
  });

  it('recovers many workflows concurrently without blocking bootstrap', async () => {
    let release!: () => void;
    Pipeline.gate = new Promise<void>((resolve) => (release = resolve));
    for (let i = 0; i < 20; i++) await seedPending(schema, { workflowId: `many-${i}`, args: [i] });
    const a = await start(); // bootstrap returned although every recovered workflow is blocked in step two
    await a.get(RecoveryService).whenRecovered();
    await waitFor(() => Pipeline.calls.filter((c) => c === 'two').length === 20);
    release();
    const client = a.get(WorkflowClient);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => client.retrieve(`many-${i}`).getResult({ timeoutMs: 10_000 })));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 2 + 1));
  });

  it('shutdown waits for the running step, leaves the workflow PENDING, and a restart finishes it', async () => {
    let release!: () => void;
    Pipeline.gate = new Promise<void>((resolve) => (release = resolve));
    const a = await start();
    const handle = await a.get(WorkflowClient).start(Pipeline, { workflowId: 'graceful' }).long(3);
    await waitFor(() => Pipeline.calls.includes('two'));
    const { closing } = await beginClose(a);
    release(); // the step in flight ends during the shutdown, which waited for it
    await closing;
    app = undefined;
    void handle;
    const rows = await sql<{ status: string }>(`SELECT status FROM "${schema}".workflow_status WHERE workflow_id = 'graceful'`);
    expect(rows[0].status).toBe('PENDING');
    const steps = await sql(`SELECT step_name FROM "${schema}".operation_outputs WHERE workflow_id = 'graceful' ORDER BY step_id`);
    expect(steps.map((s) => s.step_name)).toEqual(['Pipeline.one', 'Pipeline.two']);
    Pipeline.calls = [];
    const client = (await start()).get(WorkflowClient);
    await expect(client.retrieve('graceful').getResult({ timeoutMs: 10_000 })).resolves.toBe(70);
    expect(Pipeline.calls).toEqual(['three']);
  });
});
