import { Logger } from '@nestjs/common';
import type { WorkflowRegistration } from '../discovery/workflow.registry';
import { DbosMaxRecoveryAttemptsError } from '../errors/max-recovery-attempts.error';
import type { WorkflowEventsBus } from '../events/workflow-events.bus';
import type { ExecutorSettings } from '../execution/executor.settings';
import type { RunningWorkflows } from '../execution/running-workflows.table';
import { untilAvailable } from '../execution/until-available.util';
import type { WorkflowExecutor } from '../execution/workflow.executor';
import type { WorkflowRecoverySource } from '../interfaces/workflow-event.interface';
import type { WorkflowStatusType } from '../interfaces/workflow-status.interface';
import { countRecovery } from '../observability/metrics';
import { serializeError } from '../serialization/value.codec';
import type { CheckpointRepository } from '../system-database/checkpoint.repository';
import type { OperationOutputRow, WorkflowStatusRow } from '../system-database/system.rows';
import type { ClaimOptions, RecoveryRepository } from '../system-database/recovery.repository';
import type { RunLifecycleRepository } from '../system-database/run-lifecycle.repository';
import { storedWorkflowLabel } from '../observability/log-label';

/**
 * The recovery entry points: takes a PENDING workflow that runs nowhere (after a restart, an
 * adoption, a start whose reply was lost) and runs it from its checkpoints, unless it used up
 * its recoveries.
 */
export class WorkflowResumer {
  private readonly logger = new Logger(WorkflowResumer.name);
  private started = false;

  constructor(
    private readonly executor: WorkflowExecutor,
    private readonly runs: RunningWorkflows,
    private readonly recovery: RecoveryRepository,
    private readonly lifecycle: RunLifecycleRepository,
    private readonly settings: ExecutorSettings,
    private readonly checkpoints: CheckpointRepository,
    private readonly events: WorkflowEventsBus,
  ) {}

  /** From now on a start that finds its id PENDING here without a runner runs it at once, not at the next sweep. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.runs.onOrphanedStart((row, registration) => {
      void this.resumePending(row, registration, 'sweep').catch((err: Error) =>
        this.logger.error(`${storedWorkflowLabel(row)}: could not run it, PENDING here without a runner: ${err.message}; the periodic sweep tries again.`),
      );
    });
  }

  /**
   * Resumes a PENDING workflow of this executor from its checkpoints (recovery, the sweep). A
   * workflow that came from a queue goes back to it instead, so the queue's limits (worker
   * concurrency included) decide when it runs. False when there was nothing to resume. Each
   * workflow resumed is logged once, with how (`restart` recovery or the `sweep`, which also
   * takes a start that found its id PENDING here without a runner).
   */
  async resumePending(
    row: WorkflowStatusRow,
    registration: WorkflowRegistration,
    source: 'restart' | 'sweep' = 'sweep',
    claim: ClaimOptions = {},
  ): Promise<boolean> {
    const { workflowId } = row;
    if (this.runs.hasRunner(workflowId) || !this.runs.isAccepting) return false;
    // Reserved while claiming, and claimed only at the epoch read: two resumers (sweep, start, recovery) never both win.
    return this.runs.whileLaunching(workflowId, async () => {
      const claimed = await this.recovery.claimForRecovery(workflowId, this.settings.executorId, row.runEpoch, claim);
      if (!claimed) return false;
      if (await this.exceededRecoveries(registration, claimed)) return false;
      this.reportRecovered(claimed, source);
      if (claimed.status === 'PENDING') await this.executor.loadAndLaunch(registration, claimed, true);
      return true;
    });
  }

  /**
   * Runs a batch of workflows claimed here in one statement (restart recovery, adoption): marks
   * those that used up their recoveries, reads the checkpoints of the others in one query and
   * launches each (a queued one was put back on its queue by the claim: the dispatcher runs it).
   * Returns how many were taken care of.
   */
  async runClaimed(
    claimed: { row: WorkflowStatusRow; registration: WorkflowRegistration; previousExecutorId?: string }[],
    source: 'restart' | 'adoption' | 'version',
  ): Promise<number> {
    const toLaunch: typeof claimed = [];
    for (const c of claimed) {
      if (await this.exceededRecoveries(c.registration, c.row)) continue;
      this.reportRecovered(c.row, source, c.previousExecutorId);
      if (c.row.status === 'PENDING') toLaunch.push(c);
    }
    const steps = await this.loadCheckpoints(toLaunch.map((c) => c.row.workflowId));
    for (const { row, registration } of toLaunch) {
      await this.executor.launchFromCheckpoints(registration, row, true, steps.get(row.workflowId) ?? []);
    }
    return claimed.length;
  }

  /** The checkpoints of claimed workflows: they must start, so a blip while reading them is waited out. */
  private loadCheckpoints(workflowIds: string[]): Promise<Map<string, OperationOutputRow[]>> {
    return untilAvailable(`the checkpoints of ${workflowIds.length} claimed workflow(s)`, this.runs.stopSignal, this.logger, () =>
      this.checkpoints.loadMany(workflowIds),
    );
  }

  /** Marks a claimed workflow (PENDING here, or put back on its queue) MAX_RECOVERY_ATTEMPTS_EXCEEDED once it used them up. */
  private async exceededRecoveries(registration: WorkflowRegistration, row: WorkflowStatusRow): Promise<boolean> {
    const maxAttempts = registration.options.maxRecoveryAttempts ?? this.settings.maxRecoveryAttempts;
    if (row.recoveryAttempts <= maxAttempts) return false;
    const error = serializeError(new DbosMaxRecoveryAttemptsError(row.workflowId, maxAttempts));
    if (await this.lifecycle.transition(row.workflowId, [row.status], 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', error)) {
      this.logger.error(`${storedWorkflowLabel(row)} (${row.workflowName}) exceeded ${maxAttempts} recovery attempts and will not be resumed.`);
      this.events.emit({
        type: 'failed',
        workflowId: row.workflowId,
        workflowName: row.workflowName,
        status: 'MAX_RECOVERY_ATTEMPTS_EXCEEDED',
        error: new DbosMaxRecoveryAttemptsError(row.workflowId, maxAttempts),
      });
    }
    return true;
  }

  private reportRecovered(row: WorkflowStatusRow, source: WorkflowRecoverySource, previousExecutorId?: string): void {
    const how = {
      restart: 'by restart recovery',
      sweep: 'by the sweep (PENDING here without a runner)',
      adoption: `by adoption from silent executor "${previousExecutorId}"`,
      version: `by a newer version, from executor "${previousExecutorId}" of a version no executor runs`,
    }[source];
    const where = row.status === 'ENQUEUED' ? `, back on its queue "${row.queueName}"` : '';
    countRecovery(row.workflowName, source);
    this.logger.log(`${storedWorkflowLabel(row)} (${row.workflowName}) recovered ${how} (recovery attempt ${row.recoveryAttempts})${where}`);
    this.events.emit({
      type: 'recovered',
      workflowId: row.workflowId,
      workflowName: row.workflowName,
      status: row.status as WorkflowStatusType,
      recoverySource: source,
      ...(previousExecutorId !== undefined ? { previousExecutorId } : {}),
    });
  }
}
