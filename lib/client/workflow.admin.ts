import { randomUUID } from 'node:crypto';
import { currentTraceContext } from '../observability/trace-context';
import { countCancelledUnstarted } from '../observability/metrics';
import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import type { AdminRepository, ReopenTarget } from '../system-database/admin.repository';
import type { ListingRepository } from '../system-database/listing.repository';
import type { DeleteWorkflowOptions, WorkflowEditRepository } from '../system-database/workflow-edit.repository';
import type { NewWorkflowRow } from '../system-database/run-lifecycle.repository';
import { INTERNAL_QUEUE } from '../system-database/system.names';
import type { ForkOptions, ResumeOptions } from './client-options.interface';
import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import type { LocalResults } from './workflow.handle';
import type { ClassType } from './workflow.starter';
import type { DebounceOptions, DebounceTarget } from '../debounce/debounce.options';

/** Without an executor in this process, a resumed workflow waits on a queue for one that has its code. */
const REMOTE_REOPEN: ReopenTarget = { executorId: '', applicationVersion: '', runnableNames: [], fallbackQueue: INTERNAL_QUEUE };

/** What the client needs of an in-process executor, when there is one. */
export interface LocalWorkflowRuntime extends LocalResults {
  start(type: ClassType, methodName: string, args: unknown[], options: StartWorkflowOptions): Promise<string>;
  /** The ENQUEUED row of a start by class and method, not written (see WorkflowControl.queuedRow). */
  queuedRow(type: ClassType, methodName: string, args: unknown[], options: StartWorkflowOptions): NewWorkflowRow;
  cancel(workflowIds: string[]): Promise<void>;
  resume(workflowId: string, options: ResumeOptions): Promise<void>;
  fork(workflowId: string, options: ForkOptions): Promise<string>;
  /** What a debounced run of `type.methodName` is, as this process registers it (its queue and options checked). */
  debounceTarget(type: ClassType, methodName: string, options: DebounceOptions): DebounceTarget;
}

export interface AdminBackend {
  admin: AdminRepository;
  edits: WorkflowEditRepository;
  listing: ListingRepository;
  local?: LocalWorkflowRuntime;
}

/** The range of the `priority` column (a Postgres integer). */
const PRIORITY_RANGE = [-(2 ** 31), 2 ** 31 - 1] as const;

/**
 * The client's management calls: through the local runtime when the process has one (so its own
 * runs stop or start at once), on the database alone otherwise.
 */
export class WorkflowAdmin {
  constructor(private readonly backend: AdminBackend) {}

  async cancel(workflowIds: string[]): Promise<void> {
    if (this.backend.local) return this.backend.local.cancel(workflowIds);
    // Runs it stopped (in other processes) count themselves; one never started is counted here.
    for (const cancelled of await this.backend.admin.cancel(workflowIds)) if (cancelled.wasEnqueued) countCancelledUnstarted(cancelled.workflowName);
  }

  async resume(workflowId: string, options: ResumeOptions): Promise<void> {
    if (this.backend.local) await this.backend.local.resume(workflowId, options);
    else await this.backend.admin.reopen(workflowId, REMOTE_REOPEN, options.applicationVersion ?? null);
  }

  /** The fork's id. */
  async fork(workflowId: string, options: ForkOptions): Promise<string> {
    if (this.backend.local) return this.backend.local.fork(workflowId, options);
    const forkId = options.workflowId ?? randomUUID();
    await this.backend.admin.fork(
      workflowId,
      forkId,
      options.fromStep,
      { status: 'ENQUEUED', queueName: null },
      options.applicationVersion ?? null,
      currentTraceContext(),
    );
    return forkId;
  }

  async setPriority(workflowId: string, priority: number): Promise<void> {
    if (!Number.isInteger(priority) || priority < PRIORITY_RANGE[0] || priority > PRIORITY_RANGE[1]) {
      throw new DbosInvalidArgumentError(
        `setPriority(${JSON.stringify(workflowId)}, ${String(priority)}): the priority must be a whole number (lower runs first).`,
      );
    }
    await this.backend.edits.setPriority(workflowId, priority);
  }

  async setDelay(workflowId: string, delayMs: number): Promise<void> {
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new DbosInvalidArgumentError(
        `setDelay(${JSON.stringify(workflowId)}, ${String(delayMs)}): the delay must be a number of milliseconds from now, 0 or more.`,
      );
    }
    await this.backend.edits.setDelay(workflowId, Math.ceil(delayMs));
  }

  /**
   * Deletes a workflow (with `children`, its descendants too) and what it owns. With `force`, an
   * unfinished one is cancelled first, through the local runtime when there is one, so that its
   * runner stops (here at once, elsewhere when it hears the cancel) before its rows go; whatever
   * the runner still tries to write after that is fenced off (its workflow row is gone).
   */
  async delete(workflowId: string, options: DeleteWorkflowOptions): Promise<string[]> {
    if (options.force) {
      const row = await this.backend.listing.get(workflowId);
      if (!row) throw new DbosNotFoundError(`No workflow has the id "${workflowId}".`);
      // Without `children`, a finished workflow's running children are left alone (a cancel would stop them).
      if (options.children || row.status === 'PENDING' || row.status === 'ENQUEUED') await this.cancel([workflowId]);
    }
    return this.backend.edits.delete(workflowId, options);
  }
}
