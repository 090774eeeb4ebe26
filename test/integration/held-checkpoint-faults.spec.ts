import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, Step, Workflow, WorkflowClient } from '../../lib';
import { DbosDatabaseUnavailableError } from '../../lib/errors/database-unavailable.error';
import { RunningWorkflows } from '../../lib/execution/running-workflows.table';
import { CheckpointRepository } from '../../lib/system-database/checkpoint.repository';
import { RunLifecycleRepository } from '../../lib/system-database/run-lifecycle.repository';
import { createDbosApp } from '../support/app';
import { dropSchema, uniqueSchema, databaseOptions } from '../support/database';
import { waitFor } from '../support/wait';

// Faults injected at the module's own repository calls (a reply lost after its commit, an outage
// while the outcome is written), against the real database.

const log: string[] = [];
let slowCalls = 0;

@Injectable()
class Held {
  constructor(private readonly dbos: DbosContext) {}

  @Step() async a() {
    return 'a';
  }
  @Step() async b() {
    log.push('b ran');
    return 'b';
  }
  /** Catches whatever the second step throws. */
  @Workflow() async swallow() {
    const x = await this.a();
    try {
      await this.b();
    } catch (e) {
      return `fallback after ${x}: ${(e as Error).name}`;
    }
    return 'normal';
  }

  /** Its only step: fast the first time, then waits for a cancel (or 4 s). */
  @Step() async slowOnSecondRun(): Promise<string> {
    slowCalls++;
    if (slowCalls === 1) return 'fast';
    const signal = this.dbos.abortSignal!;
    const aborted = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 4_000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    log.push(`second run aborted: ${aborted}`);
    return 'slow';
  }
  @Workflow() async finishReplay() {
    return this.slowOnSecondRun();
  }
}

describe('a held-back checkpoint under faults', () => {
  const schema = uniqueSchema('heldfault');
  let app: INestApplicationContext;
  let remote: WorkflowClient;

  beforeAll(async () => {
    app = await createDbosApp([Held], { schema });
    remote = await WorkflowClient.connect({ database: databaseOptions(), schema });
  });
  afterAll(async () => {
    await remote.close();
    await app.close();
    await dropSchema(schema);
  });

  it('a held-back write whose reply was lost finds its own row and the run goes on (no replay, no fallback)', async () => {
    log.length = 0;
    const original = CheckpointRepository.prototype.record;
    CheckpointRepository.prototype.record = async function (this: CheckpointRepository, row, epoch) {
      // The write commits, its reply is lost, the retry finds the row: the same outcome, written.
      if (row.workflowId === 'held-lost-reply' && row.stepId === 0) await original.call(this, row, epoch);
      return original.call(this, row, epoch);
    };
    try {
      const handle = await app.get(WorkflowClient).start(Held, { workflowId: 'held-lost-reply' }).swallow();
      await expect(handle.getResult()).resolves.toBe('normal');
    } finally {
      CheckpointRepository.prototype.record = original;
    }
    expect(log).toEqual(['b ran']);
    expect((await remote.listSteps('held-lost-reply')).map((s) => s.name)).toEqual(['Held.a', 'Held.b']);
  });

  it('after an outage while writing the outcome, the replayed run still hears a cancel from another process', async () => {
    log.length = 0;
    const original = RunLifecycleRepository.prototype.complete;
    let failed = false;
    RunLifecycleRepository.prototype.complete = function (this: RunLifecycleRepository, outcome) {
      if (outcome.workflowId === 'held-finish-outage' && !failed) {
        failed = true;
        return Promise.reject(new DbosDatabaseUnavailableError('the test', 'the outcome statement failed'));
      }
      return original.call(this, outcome);
    };
    try {
      const handle = await app.get(WorkflowClient).start(Held, { workflowId: 'held-finish-outage' }).finishReplay();
      // The replay runs the step again (its checkpoint went with the failed outcome) and waits there.
      await waitFor(() => slowCalls === 2, 10_000);
      expect(app.get(RunningWorkflows).isFinishing('held-finish-outage')).toBe(false);
      await remote.cancel('held-finish-outage');
      await expect(handle.getResult()).rejects.toThrow(/cancel/i);
    } finally {
      RunLifecycleRepository.prototype.complete = original;
    }
    expect(log).toEqual(['second run aborted: true']);
  });
});
