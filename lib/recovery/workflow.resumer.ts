import { Logger } from '@nestjs/common';
import type { WorkflowRegistration } from '../discovery/workflow.registry';
import { DbosMaxRecoveryAttemptsError } from '../errors/max-recovery-attempts.error';
import type { WorkflowEventsBus } from '../events/workflow-events.bus';
import type { ExecutorSettings } from '../execution/executor.settings';
import type { RunningWorkflows } from '../execution/running-workflows.table';
import type { WorkflowExecutor } from '../execution/workflow.executor';
import type { WorkflowRecoverySource } from '../interfaces/workflow-event.interface';
import type { WorkflowStatusType } from '../interfaces/workflow-status.interface';
import { serializeError } from '../serialization/value.codec';
import type { WorkflowStatusRow } from '../system-database/system.rows';
import type { WorkflowStatusRepository } from '../system-database/workflow-status.repository';

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
    private readonly statuses: WorkflowStatusRepository,
    private readonly settings: ExecutorSettings,
    private readonly events: WorkflowEventsBus,
  ) {}

  /** From now on a start that finds its id PENDING here without a runner runs it at once, not at the next sweep. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.runs.onOrphanedStart((row, registration) => {
      void this.resumePending(row, registration, 'sweep').catch((err: Error) =>
        this.logger.error(`Could not run workflow ${row.workflowId}, PENDING here without a runner: ${err.message}; the periodic sweep tries again.`),
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
  async resumePending(row: WorkflowStatusRow, registration: WorkflowRegistration, source: Exclude<WorkflowRecoverySource, 'adoption'> = 'sweep'): Promise<boolean> {
    const { workflowId } = row;
    if (this.runs.hasRunner(workflowId) || !this.runs.isAccepting) return false;
    // Reserved while claiming, and claimed only at the epoch read: two resumers (sweep, start, recovery) never both win.
    return this.runs.whileLaunching(workflowId, async () => {
      const claimed = await this.statuses.claimForRecovery(workflowId, this.settings.executorId, row.runEpoch);
      if (!claimed) return false;
      if (await this.exceededRecoveries(registration, claimed)) return false;
      this.reportRecovered(claimed, source);
      if (claimed.status === 'PENDING') await this.executor.loadAndLaunch(registration, claimed, true);
      return true;
    });
  }

  /**
   * Runs a workflow adopted from a silent executor, unless it used up its recoveries. A queued
   * one was put back on its queue by the adoption: the dispatcher runs it.
   */
  async runAdopted(registration: WorkflowRegistration, row: WorkflowStatusRow, previousExecutorId: string): Promise<boolean> {
    if (await this.exceededRecoveries(registration, row)) return false;
    this.reportRecovered(row, 'adoption', previousExecutorId);
    if (row.status === 'PENDING') await this.executor.launchFromCheckpoints(registration, row);
    return true;
  }

  /** Marks a claimed workflow (PENDING here, or put back on its queue) MAX_RECOVERY_ATTEMPTS_EXCEEDED once it used them up. */
  private async exceededRecoveries(registration: WorkflowRegistration, row: WorkflowStatusRow): Promise<boolean> {
    const maxAttempts = registration.options.maxRecoveryAttempts ?? this.settings.maxRecoveryAttempts;
    if (row.recoveryAttempts <= maxAttempts) return false;
    const error = serializeError(new DbosMaxRecoveryAttemptsError(row.workflowId, maxAttempts));
    if (await this.statuses.transition(row.workflowId, [row.status], 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', error)) {
      this.logger.error(`Workflow ${row.workflowId} (${row.workflowName}) exceeded ${maxAttempts} recovery attempts and will not be resumed.`);
      this.events.emit({
        type: 'failed', workflowId: row.workflowId, workflowName: row.workflowName, status: 'MAX_RECOVERY_ATTEMPTS_EXCEEDED',
        error: new DbosMaxRecoveryAttemptsError(row.workflowId, maxAttempts),
      });
    }
    return true;
  }

  private reportRecovered(row: WorkflowStatusRow, source: WorkflowRecoverySource, previousExecutorId?: string): void {
    const how = { restart: 'by restart recovery', sweep: 'by the sweep (PENDING here without a runner)', adoption: `by adoption from silent executor "${previousExecutorId}"` }[source];
    const where = row.status === 'ENQUEUED' ? `, back on its queue "${row.queueName}"` : '';
    this.logger.log(`Workflow ${row.workflowId} (${row.workflowName}) recovered ${how} (recovery attempt ${row.recoveryAttempts})${where}`);
    this.events.emit({
      type: 'recovered', workflowId: row.workflowId, workflowName: row.workflowName, status: row.status as WorkflowStatusType, recoverySource: source,
      ...(previousExecutorId !== undefined ? { previousExecutorId } : {}),
    });
  }
}
