import { Inject, Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DbosDatabase } from '../dbos.database';
import { DBOS_CLOCK, DBOS_EXECUTOR_SETTINGS, DBOS_SYSTEM_DATABASE } from '../dbos.constants';
import { WorkflowRegistry } from '../discovery/workflow.registry';
import { DbosError } from '../errors/dbos.error';
import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import type { ExecutorSettings } from '../execution/executor.settings';
import { RunningWorkflows } from '../execution/running-workflows.table';
import { QueueDispatcher } from '../queues/queue.dispatcher';
import { QueueRegistry } from '../queues/queue.registry';
import { WorkflowResumer } from '../recovery/workflow.resumer';
import { WorkflowReplayer, type ReplayOptions } from '../evolution/workflow.replayer';
import { durationMs, type Duration } from './duration.util';
import { IdleProbe } from './idle.probe';
import type { TestClock } from './test.clock';

export interface RunUntilIdleOptions {
  /** Real time to wait for the workflows to settle before rejecting (default 10 s). */
  timeoutMs?: number;
}

/** Consecutive idle checks (IDLE_CHECK_MS apart) that make the module idle: a start or a NOTIFY in flight shows up in between. */
const IDLE_CHECKS = 3;
const IDLE_CHECK_MS = 5;

/**
 * Drives a testing module's workflows: moves the module's clock, waits until nothing can
 * progress, and crashes the running workflows. The database, the process and the checkpoints
 * stay real: only the clock moves.
 */
@Injectable()
export class DbosTestKit {
  private readonly idle: IdleProbe;

  constructor(
    @Inject(DBOS_CLOCK) private readonly clock: TestClock,
    @Inject(DBOS_SYSTEM_DATABASE) private readonly database: DbosDatabase,
    @Inject(DBOS_EXECUTOR_SETTINGS) private readonly settings: ExecutorSettings,
    private readonly runs: RunningWorkflows,
    private readonly registry: WorkflowRegistry,
    private readonly resumer: WorkflowResumer,
    private readonly dispatcher: QueueDispatcher,
    private readonly replayer: WorkflowReplayer,
    queues: QueueRegistry,
  ) {
    this.idle = new IdleProbe(clock, runs, database, registry, queues);
  }

  /** The module's clock now (epoch ms): what `DbosContext.now()` records. */
  now(): number {
    return this.clock.now();
  }

  /**
   * Moves the module's clock forward by `duration` (ms, or '25h', '30m', '2d', '10s' ...). Durable
   * sleeps, recv/getEvent timeouts, workflow deadlines, queue delays and cron ticks that fall due
   * fire in deadline order: the clock moves to the first, it fires, the workflows react until idle,
   * then the next. Recorded deadlines stay what they were.
   */
  async advanceTime(duration: Duration, options: RunUntilIdleOptions = {}): Promise<void> {
    const target = this.clock.now() + durationMs(duration);
    await this.runUntilIdle(options);
    for (let next = this.clock.nextDue(target); next; next = this.clock.nextDue(target)) {
      this.clock.moveTo(next.at);
      this.clock.fire(next);
      await this.runUntilIdle(options);
    }
    this.clock.moveTo(target);
    await this.runUntilIdle(options);
  }

  /**
   * Resolves once no workflow can progress without time passing or a message arriving (every
   * local run waits on the clock, a message, an event or another workflow; nothing starting; no
   * queue holding a workflow it could start). Rejects with the workflows still running at `timeoutMs`.
   */
  async runUntilIdle({ timeoutMs = 10_000 }: RunUntilIdleOptions = {}): Promise<void> {
    const giveUpAt = Date.now() + timeoutMs;
    this.dispatcher.wake();
    for (let idleChecks = 0; idleChecks < IDLE_CHECKS;) {
      const busy = await this.idle.check();
      idleChecks = busy === undefined ? idleChecks + 1 : 0;
      if (busy !== undefined && Date.now() >= giveUpAt) {
        const what = 'running' in busy ? `still running: ${busy.running.join(', ')}` : busy.reason;
        throw new DbosError(`runUntilIdle() gave up after ${timeoutMs} ms: ${what}.`);
      }
      await sleep(IDLE_CHECK_MS);
    }
  }

  /**
   * Re-runs a recorded workflow's code against its checkpoints without executing any step or
   * writing anything: resolves when the code still takes the recorded path, rejects with
   * DbosNondeterminismError naming the position, the recorded and the new step where it diverges.
   */
  replay(workflowId: string, options?: ReplayOptions): Promise<void> {
    return this.replayer.replay(workflowId, options);
  }

  /**
   * Crashes the process "at" step `stepName` (a @Step or @Transaction by its registered name, e.g.
   * 'CheckoutService.shipOrder') the next time it runs, without a hook in the app's code: the
   * step's body runs (a @Step's effects happen, a @Transaction's roll back), then crash() before
   * its result is recorded. Resolves once the crashed workflows run again from their checkpoints.
   */
  crashAt(stepName: string): Promise<void> {
    const step = this.registry.getStep(stepName);
    if (!step) {
      throw new DbosInvalidArgumentError(
        `crashAt("${stepName}"): no @Step or @Transaction has that name (there are: ${this.registry.stepNames().join(', ')}).`,
      );
    }
    const original = step.method;
    return new Promise((resolve, reject) => {
      const crash = () => this.crash().then(resolve, reject);
      step.method = async function (this: unknown, ...args: unknown[]) {
        step.method = original;
        try {
          return await original.apply(this, args);
        } finally {
          void crash(); // its first part, synchronous, marks the runs crashed before the step's result can be recorded
        }
      };
    });
  }

  /**
   * Drops every running workflow as a crash would: nothing more is recorded (a held-back
   * checkpoint is lost, a running step's result is not recorded). Waits for the runs to unwind (a
   * step that is running returns first: code cannot be stopped midway), then recovers them from
   * their checkpoints through the module's recovery path. Resolves once they run again.
   */
  async crash(): Promise<void> {
    const crashed = this.runs.ids().map((id) => ({ id, run: this.runs.get(id)! }));
    for (const { run } of crashed) run.crash();
    await Promise.all(crashed.map(({ run }) => run.result.catch(() => undefined)));
    const rows = await this.database.repositories.listing.getMany(crashed.map(({ id }) => id));
    for (const row of rows.values()) {
      const registration = this.registry.getWorkflow(row.workflowName);
      if (registration && row.status === 'PENDING' && row.executorId === this.settings.executorId) {
        await this.resumer.resumePending(row, registration, 'restart');
      }
    }
  }
}
