import { randomUUID } from 'node:crypto';
import { currentTraceContext } from '../observability/trace-context';
import type { AdminRepository, ReopenTarget } from '../system-database/admin.repository';
import type { NewWorkflowRow } from '../system-database/run-lifecycle.repository';
import { INTERNAL_QUEUE } from '../system-database/system.names';
import type { ForkOptions, ResumeOptions } from './client-options.interface';
import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import type { LocalResults } from './workflow.handle';
import type { ClassType } from './workflow.starter';

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
}

export interface AdminBackend {
  admin: AdminRepository;
  local?: LocalWorkflowRuntime;
}

/**
 * The client's management calls: through the local runtime when the process has one (so its own
 * runs stop or start at once), on the database alone otherwise.
 */
export class WorkflowAdmin {
  constructor(private readonly backend: AdminBackend) {}

  async cancel(workflowIds: string[]): Promise<void> {
    if (this.backend.local) await this.backend.local.cancel(workflowIds);
    else await this.backend.admin.cancel(workflowIds);
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
}
