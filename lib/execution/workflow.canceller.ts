import { Logger } from '@nestjs/common';
import type { WorkflowClock } from '../common/clock';
import { DbosTimeoutError } from '../errors/timeout.error';
import { DbosWorkflowCancelledError } from '../errors/workflow-cancelled.error';
import type { WorkflowEventsBus } from '../events/workflow-events.bus';
import { serializeError } from '../serialization/value.codec';
import type { AdminRepository, CancelledWorkflow } from '../system-database/admin.repository';
import { logCancels } from './cancel-log.util';
import type { RunningWorkflows } from './running-workflows.table';
import { workflowLabel } from '../observability/log-label';
import { countCancelledUnstarted } from '../observability/metrics';

export interface WorkflowCancellerDependencies {
  runs: RunningWorkflows;
  admin: AdminRepository;
  events: WorkflowEventsBus;
  /** Deadlines are workflow time. */
  clock: WorkflowClock;
}

/** One cancel: which roots, how the database is changed, why each run stops, how it is logged. */
interface Cancel {
  roots: string[];
  /** Cancels the roots with their unfinished descendants; the rows it cancelled. */
  write: () => Promise<CancelledWorkflow[]>;
  /** The error a cancelled workflow's run (and its `cancelled` event) gets. */
  reasonOf: (cancelled: CancelledWorkflow) => Error;
  /** The log line's verb: `cancelled`, `timed out at ... and was cancelled`. */
  what: string;
  logger: Pick<Logger, 'log'>;
}

/**
 * Cancels made in this process, by a caller (WorkflowControl.cancel) or a deadline: the rows
 * change, then the runs here stop, then the `cancelled` events and one log line per root.
 */
export class WorkflowCanceller {
  private readonly logger = new Logger(WorkflowCanceller.name);

  constructor(private readonly deps: WorkflowCancellerDependencies) {}

  /** Cancels workflows and their children, all at once (see AdminRepository.cancel). */
  cancel(workflowIds: string[], logger: Pick<Logger, 'log'>): Promise<void> {
    return this.run({
      roots: workflowIds,
      write: () => this.deps.admin.cancel(workflowIds),
      reasonOf: (c) => new DbosWorkflowCancelledError(c.workflowId),
      what: 'cancelled',
      logger,
    });
  }

  /** Cancels the workflow with DbosTimeoutError at `deadline` (with its descendants); returns what disarms it. */
  armDeadline(workflowId: string, deadline: number): () => void {
    return this.deps.clock.schedule(deadline, () => {
      void this.timeOut(workflowId, deadline).catch((err: Error) =>
        this.logger.error(`${workflowLabel(workflowId)}: could not time it out: ${err.message}`, err.stack),
      );
    });
  }

  private timeOut(workflowId: string, deadline: number): Promise<void> {
    const at = new Date(deadline).toISOString();
    const error = new DbosTimeoutError(workflowId, `timed out at its deadline ${at} and was cancelled.`);
    return this.run({
      roots: [workflowId],
      write: () => this.deps.admin.cancelTree(workflowId, serializeError(error)),
      reasonOf: (c) => (c.workflowId === workflowId ? error : new DbosTimeoutError(c.workflowId, `its parent ${workflowId} timed out.`)),
      what: `timed out at its deadline ${at} and was cancelled`,
      logger: this.logger,
    });
  }

  /**
   * The NOTIFY of the cancel's commit can reach this process before the write returns: while it
   * runs, a status change of these trees is this process's own (see RunningWorkflows.whileCancelling).
   */
  private async run(cancel: Cancel): Promise<void> {
    const { runs, events } = this.deps;
    const cancelled = await runs.whileCancelling(cancel.roots, async () => {
      const rows = await cancel.write();
      for (const row of rows) runs.abort(row.workflowId, cancel.reasonOf(row));
      return rows;
    });
    for (const row of cancelled) {
      const { workflowId, workflowName, rootId } = row;
      // A run stopped by the cancel counts itself (here, or where it runs); one never started is counted here.
      if (row.wasEnqueued) countCancelledUnstarted(workflowName);
      events.emit({
        type: 'cancelled',
        workflowId,
        workflowName,
        status: 'CANCELLED',
        error: cancel.reasonOf(row),
        cancelSource: 'here',
        ...(rootId !== workflowId ? { cancelledWith: rootId } : {}),
      });
    }
    logCancels(cancel.logger, cancelled, cancel.what);
  }
}
