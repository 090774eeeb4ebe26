import { Logger } from '@nestjs/common';
import { delay } from '../common/delay.util';
import type { WorkflowRegistry } from '../discovery/workflow.registry';
import type { ExecutorSettings } from '../execution/executor.settings';
import type { RunningWorkflows } from '../execution/running-workflows.table';
import { backoff } from '../common/backoff.util';
import type { AdminRepository } from '../system-database/admin.repository';
import type { ListingRepository } from '../system-database/listing.repository';
import type { WorkflowStatusRow } from '../system-database/system.rows';
import type { RecoveryRepository } from '../system-database/recovery.repository';
import { isLockNotAvailable } from '../system-database/sql';
import { storedWorkflowLabel } from '../observability/log-label';
import type { WorkflowResumer } from './workflow.resumer';

/** Workflows claimed (and their checkpoints read) per statement during recovery. */
const RECOVERY_BATCH = 500;
/** A PENDING row of this executor that nothing here runs is picked up once it has been left alone this long. */
const SWEEP_UNTOUCHED_MS = 5_000;
/** Tries of a row the batches passed over while it stays locked (1, 2, 4 ... 100 ms apart: under a second). */
const HELD_ATTEMPTS = 14;

/**
 * Resumes this executor's PENDING workflows of this application version after a restart. Runs
 * in the background so bootstrap is not held up; `whenRecovered()` tells when it is done.
 */
export class RecoveryRunner {
  /**
   * Restart recovery takes only what an earlier life of this executor left PENDING (last touched
   * before this process made its providers): a workflow this process started, resumed or forked
   * since runs already, even before bootstrap (from an onModuleInit).
   */
  private readonly createdAt = Date.now();
  private readonly logger = new Logger(RecoveryRunner.name);
  private recovered: Promise<number> = Promise.resolve(0);
  private done = false;
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly recovery: RecoveryRepository,
    private readonly listing: ListingRepository,
    private readonly admin: AdminRepository,
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
    const ids = (await this.recovery.findPendingIds(executorId, applicationVersion, SWEEP_UNTOUCHED_MS)).filter((id) => !this.runs.isBusy(id));
    if (ids.length === 0) return 0;
    const rows = await this.listing.getMany(ids);
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

  /**
   * Claims this executor's PENDING workflows in batches of RECOVERY_BATCH (one statement each,
   * oldest first, rows held by another transaction skipped and taken at the end), reads each batch's checkpoints in one
   * query and launches it: rows stream through, inputs and checkpoints are never all in memory.
   */
  private async recoveryPass(): Promise<{ resumed: number; failed: number }> {
    const { executorId, applicationVersion } = this.settings;
    await this.reportOtherVersions(applicationVersion);
    const names = this.registry.workflowNames();
    await this.reportUnknownNames(executorId, applicationVersion, names);
    let resumed = 0;
    let failed = 0;
    let after: { createdAt: number; workflowId: string } | null = null;
    while (this.runs.isAccepting) {
      // Those running here already (a start that raced recovery; a retried pass) are left alone.
      const batch = await this.recovery.claimPendingBatch(executorId, applicationVersion, names, after, this.runs.ids(), RECOVERY_BATCH, this.createdAt);
      if (batch.length === 0) break;
      if (after === null) this.logger.log(`Recovering pending workflows of executor "${executorId}"`);
      const last = batch[batch.length - 1];
      after = { createdAt: last.createdAt, workflowId: last.workflowId };
      try {
        resumed += await this.resumer.runClaimed(
          batch.map((row) => ({ row, registration: this.registry.getWorkflow(row.workflowName)! })),
          'restart',
        );
      } catch (err) {
        // Claimed but not launched: PENDING here under a new run; the next pass (or the sweep) takes them again.
        failed += batch.length;
        this.logger.error(`Could not resume ${batch.length} workflow(s) (${batch[0].workflowId} ...): ${(err as Error).message}`);
      }
    }
    if (this.runs.isAccepting) {
      const passedOver = await this.resumePassedOver(names);
      resumed += passedOver.resumed;
      failed += passedOver.failed;
    }
    if (resumed > 0) this.logger.log(`Recovered ${resumed} pending workflow(s) of executor "${executorId}"`);
    return { resumed, failed };
  }

  /**
   * The rows the batches passed over because another transaction held them at that moment (a
   * waiter in another process marking the outcome watched, an outcome or a cancel being written):
   * each is claimed on its own, NOWAIT, and tried again for about a second while it is held, so it
   * runs now and not at a sweep 15 s or more later. A row held longer (an operator's open
   * transaction) is left to the sweep: it never holds up the end of recovery. One finished or
   * taken meanwhile is left as it is (the claim checks its epoch).
   */
  private async resumePassedOver(names: string[]): Promise<{ resumed: number; failed: number }> {
    const { executorId, applicationVersion } = this.settings;
    const ids = await this.recovery.findUnclaimed(executorId, applicationVersion, names, this.runs.ids(), this.createdAt);
    if (ids.length === 0) return { resumed: 0, failed: 0 };
    // Read once: a held row is tried again at the epoch read here, so one claimed meanwhile is left alone.
    let rows = [...(await this.listing.getMany(ids)).values()];
    let resumed = 0;
    let failed = 0;
    for (let attempt = 0; rows.length > 0 && this.runs.isAccepting; attempt++) {
      if (attempt === HELD_ATTEMPTS) {
        this.logger.warn(
          `${rows.length} PENDING workflow(s) of executor "${executorId}" (${rows[0].workflowId} ...) stayed locked by another transaction during recovery; the periodic sweep resumes them once it is done.`,
        );
        break;
      }
      if (attempt > 0) await delay(Math.min(2 ** (attempt - 1), 100), this.runs.stopSignal).catch(() => undefined);
      const held: WorkflowStatusRow[] = [];
      for (const row of rows) {
        try {
          if (await this.resumer.resumePending(row, this.registry.getWorkflow(row.workflowName)!, 'restart', { nowait: true })) resumed++;
        } catch (err) {
          if (isLockNotAvailable(err)) {
            held.push(row);
          } else {
            failed++; // the pass runs again; one claimed but not launched is the sweep's
            this.logger.error(`Could not resume ${storedWorkflowLabel(row)}: ${(err as Error).message}`);
          }
        }
      }
      rows = held;
    }
    return { resumed, failed };
  }

  /** PENDING workflows here whose code no provider registers: they wait for a process that has it. */
  private async reportUnknownNames(executorId: string, applicationVersion: string, names: string[]): Promise<void> {
    for (const { workflowName, count } of await this.recovery.countPendingUnknown(executorId, applicationVersion, names)) {
      this.logger.error(`${count} workflow(s) are PENDING but no provider registers "${workflowName}"; they stay PENDING until a process that has it starts.`);
    }
  }

  /** Workflows no executor of this version will take: say so, and how to move them. */
  private async reportOtherVersions(applicationVersion: string): Promise<void> {
    const others = await this.admin.countOtherVersions(applicationVersion);
    if (others.length === 0) return;
    const summary = others.map((o) => `${o.count} ${o.status} of version "${o.applicationVersion}"`).join(', ');
    this.logger.warn(
      `This executor runs version "${applicationVersion}"; the database also holds ${summary}. They run only on executors of ` +
        `their own version. List them with list({ applicationVersion }); move them with resume(id, { applicationVersion: ` +
        `"${applicationVersion}" }) or fork(id, { fromStep, applicationVersion }).`,
    );
  }
}
