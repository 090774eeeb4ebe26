import { Logger } from '@nestjs/common';
import { delay } from '../common/delay.util';
import type { RecoveryRepository } from '../system-database/recovery.repository';
import { DbosRunSuperseded } from './run-superseded.error';
import { DbosShutdownInterrupt } from './shutdown-interrupt.error';
import type { WorkflowRun } from './workflow.run';
import { workflowLabel } from '../observability/log-label';

/**
 * The gate before every new step. An executor cut off from the database for half its lease may
 * have had its workflows adopted: it starts nothing until its heartbeat is back, and then each
 * run confirms (once) that it still owns its workflow.
 */
export class LeaseGate {
  private readonly logger = new Logger(LeaseGate.name);
  /** When a heartbeat last succeeded (monotonic ms), and how often heartbeats came back after going stale. */
  private lastHeartbeatAt = performance.now();
  private heartbeatGeneration = 0;
  private heartbeating = false;

  constructor(
    private readonly recovery: RecoveryRepository,
    private readonly settings: { executorId: string; executorLeaseMs: number },
    private readonly stopSignal: AbortSignal,
  ) {}

  /** The generation a new run starts with: it owns its workflow as of now. */
  get generation(): number {
    return this.heartbeatGeneration;
  }

  /** Called by the heartbeat after each successful beat; the first one arms the gate. */
  noteHeartbeat(): void {
    if (this.isStale()) this.heartbeatGeneration++;
    this.lastHeartbeatAt = performance.now();
    this.heartbeating = true;
  }

  /**
   * Before heartbeats start (workflows run from an onModuleInit, a testing module never
   * initialized) there is no lease to lose: the gate stays open.
   */
  private isStale(): boolean {
    return this.heartbeating && performance.now() - this.lastHeartbeatAt > this.settings.executorLeaseMs / 2;
  }

  /**
   * Resolves when the run may start a new step. `force` confirms ownership in any case (a run
   * waking from a sleep, during which it touched no database).
   */
  async confirmOwnership(run: WorkflowRun, force = false): Promise<void> {
    if (!force && run.isConfirmedAt(this.heartbeatGeneration) && !this.isStale()) return;
    for (let waited = 0; this.isStale(); waited++) {
      if (waited === 0)
        this.logger.warn(`${workflowLabel(run.workflowId)} waits: no heartbeat for over half the lease; it resumes once ownership is confirmed.`);
      await delay(100, run.abortSignal).catch((err: unknown) => {
        throw run.interrupt(err);
      });
      if (this.stopSignal.aborted) throw run.interrupt(new DbosShutdownInterrupt(run.workflowId));
    }
    const generation = this.heartbeatGeneration;
    const owned = await this.recovery.isOwnedBy(run.workflowId, this.settings.executorId, run.epoch).catch((err: unknown) => {
      throw run.interrupt(err);
    });
    if (!owned) throw run.interrupt(new DbosRunSuperseded(run.workflowId));
    run.confirmOwnedAt(generation);
  }
}
