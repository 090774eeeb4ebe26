import { DbosNotFoundError } from '../errors/not-found.error';
import type { CheckpointRepository } from './checkpoint.repository';
import type { CommunicationRepository } from './communication.repository';
import type { WorkflowStatusRow } from './entities/workflow-status.entity';
import type { SystemDatabase } from './system-database';
import type { WorkflowStatusRepository } from './workflow-status.repository';

/** Queue on which workflows wait that any executor of their version may run (resume, fork from a client). */
export const INTERNAL_QUEUE = '_dbos_internal';

export type RunTarget = { status: 'PENDING'; executorId: string } | { status: 'ENQUEUED'; queueName: string | null };

const notFound = (workflowId: string) => new DbosNotFoundError(`No workflow has the id "${workflowId}".`);

/** Cancel, resume and fork as database changes; who then runs the workflow is the caller's business. */
export class WorkflowAdmin {
  constructor(
    private readonly db: SystemDatabase,
    private readonly statuses: WorkflowStatusRepository,
    private readonly checkpoints: CheckpointRepository,
    private readonly communication: CommunicationRepository,
  ) {}

  /** Cancels the workflow and its unfinished descendants; returns the ids cancelled. */
  async cancel(workflowId: string, error: string | null = null): Promise<string[]> {
    const cancelled = await this.statuses.cancelTree(workflowId, error);
    if (cancelled.length === 0 && !(await this.statuses.get(workflowId))) throw notFound(workflowId);
    return cancelled;
  }

  /**
   * Reopens a CANCELLED or failed workflow so that it continues from its last completed step.
   * Null when it was not in such a state (running, finished, or a concurrent resume won).
   */
  async reopen(workflowId: string, target: RunTarget, applicationVersion: string | null = null): Promise<WorkflowStatusRow | null> {
    const current = await this.statuses.get(workflowId);
    if (!current) throw notFound(workflowId);
    const queued = target.status === 'ENQUEUED' ? { status: 'ENQUEUED' as const, queueName: target.queueName ?? current.queueName ?? INTERNAL_QUEUE } : target;
    return this.db.transaction(async (client) => {
      const row = await this.statuses.reopen(workflowId, queued, applicationVersion, client);
      if (row) await this.checkpoints.dropTrailingErrors(workflowId, client);
      return row;
    });
  }

  /** Copies `fromId` as `toId` with the checkpoints (and what they published) before `fromStep`. */
  async fork(fromId: string, toId: string, fromStep: number, target: RunTarget, applicationVersion: string | null): Promise<void> {
    const source = await this.statuses.get(fromId);
    if (!source) throw notFound(fromId);
    await this.db.transaction(async (client) => {
      const inserted = await this.statuses.insertFork(client, fromId, toId, {
        status: target.status,
        executorId: target.status === 'PENDING' ? target.executorId : null,
        queueName: target.status === 'ENQUEUED' ? target.queueName ?? source.queueName ?? INTERNAL_QUEUE : null,
        applicationVersion,
      });
      if (!inserted) throw notFound(fromId);
      await this.checkpoints.copy(client, fromId, toId, fromStep);
      await this.communication.copyPublished(client, fromId, toId, fromStep);
    });
  }
}
