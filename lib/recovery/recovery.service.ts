import { Logger } from '@nestjs/common';
import { delay } from '../common/delay.util';
import type { WorkflowRegistry } from '../discovery/workflow.registry';
import type { ExecutorSettings } from '../execution/executor.settings';
import type { RunningWorkflows } from '../execution/running-workflows.table';
import { backoff } from '../common/backoff.util';
import type { WorkflowStatusRepository } from '../system-database/workflow-status.repository';
import type { WorkflowResumer } from './workflow.resumer';

const RECOVERY_BATCH = 50;
/** A PENDING row of this executor that nothing here runs is picked up once it has been left alone this long. */
const SWEEP_UNTOUCHED_MS = 5_000;

/**
 * Resumes this executor's PENDING workflows of this application version after a restart. Runs
 * in the background so bootstrap is not held up; `whenRecovered()` tells when it is done.
 */
export class RecoveryService {
  private readonly logger = new Logger(RecoveryService.name);
  private recovered: Promise<number> = Promise.resolve(0);
  private done = false;
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly statuses: WorkflowStatusRepository,
    private readonly registry: WorkflowRegistry,
    private readonly resumer: WorkflowResumer,
    private readonly runs: RunningWorkflows,
    private readonly settings: ExecutorSettings,
  ) {}

  /** Recovery now, then a periodic sweep every `sweepIntervalMs`. */
  start(sweepIntervalMs?: number): void {
    this.recovered = this.recoverUntilDone().finally(() => (this.done = true));
    if (sweepIntervalMs === undefined) return;
    this.sweepTimer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .then(
          () => undefined,
          (err: Error) => this.logger.warn(`Sweep for PENDING workflows without a runner failed: ${err.message}`),
        )
        .finally(() => (this.sweeping = undefined));
    }, sweepIntervalMs);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.sweeping;
  }

  /**
   * Runs what is PENDING on this executor but runs nowhere in this process: a start whose reply
   * was lost, a launch that failed after a claim, an adoption or a resume. Without it such a
   * workflow would wait for the next restart.
   */
  async sweep(): Promise<number> {
    if (!this.done || !this.runs.isAccepting) return 0;
    const { executorId, applicationVersion } = this.settings;
    const ids = (await this.statuses.findPendingIds(executorId, applicationVersion, SWEEP_UNTOUCHED_MS)).filter((id) => !this.runs.isBusy(id));
    if (ids.length === 0) return 0;
    const rows = await this.statuses.getMany(ids);
    let resumed = 0;
    for (const row of rows.values()) {
      const registration = this.registry.getWorkflow(row.workflowName);
      if (registration && (await this.resumer.resumePending(row, registration, 'sweep'))) resumed++;
    }
    return resumed; // each one logged by the resumer
  }

  /** Recovery passes until one completes without a failure (a database that blinks at startup loses nothing). */
  private async recoverUntilDone(): Promise<number> {
    let total = 0;
    for (let attempt = 1; this.runs.isAccepting; attempt++) {
      try {
        const { resumed, failed } = await this.recoveryPass();
        total += resumed;
        if (failed === 0) return total;
      } catch (err) {
        this.logger.error(`Recovery of pending workflows failed (attempt ${attempt}): ${(err as Error).message}`, (err as Error).stack);
      }
      await delay(backoff(attempt), this.runs.stopSignal).catch(() => undefined);
    }
    return total;
  }

  get isRecovered(): boolean {
    return this.done;
  }

  /** Resolves with the number of resumed workflows once every one of them has been started again. */
  whenRecovered(): Promise<number> {
    return this.recovered;
  }

  private async recoveryPass(): Promise<{ resumed: number; failed: number }> {
    const { executorId, applicationVersion } = this.settings;
    await this.reportOtherVersions(applicationVersion);
    const pending = await this.statuses.findPending(executorId, applicationVersion);
    if (pending.length === 0) return { resumed: 0, failed: 0 };
    this.logger.log(`Recovering ${pending.length} pending workflow(s) of executor "${executorId}"`);
    let resumed = 0;
    let failed = 0;
    for (let i = 0; i < pending.length; i += RECOVERY_BATCH) {
      const batch = pending.slice(i, i + RECOVERY_BATCH);
      const results = await Promise.allSettled(
        batch.map((row) => {
          const registration = this.registry.getWorkflow(row.workflowName);
          if (!registration) {
            this.logger.error(
              `Workflow ${row.workflowId} is PENDING but no provider registers "${row.workflowName}"; it stays PENDING until a process that has it starts.`,
            );
            return Promise.resolve(false);
          }
          return this.resumer.resumePending(row, registration, 'restart');
        }),
      );
      for (const [n, result] of results.entries()) {
        if (result.status === 'fulfilled') {
          resumed += result.value ? 1 : 0;
        } else {
          failed++;
          this.logger.error(`Could not resume workflow ${batch[n].workflowId}: ${(result.reason as Error)?.message}`);
        }
      }
    }
    return { resumed, failed };
  }

  /** Workflows no executor of this version will take: say so, and how to move them. */
  private async reportOtherVersions(applicationVersion: string): Promise<void> {
    const others = await this.statuses.countOtherVersions(applicationVersion);
    if (others.length === 0) return;
    const summary = others.map((o) => `${o.count} ${o.status} of version "${o.applicationVersion}"`).join(', ');
    this.logger.warn(
      `This executor runs version "${applicationVersion}"; the database also holds ${summary}. They run only on executors of ` +
        `their own version. List them with list({ applicationVersion }); move them with resume(id, { applicationVersion: ` +
        `"${applicationVersion}" }) or fork(id, { fromStep, applicationVersion }).`,
    );
  }
}
