import { DbosNotFoundError } from '../errors/not-found.error';
import { DbosTimeoutError } from '../errors/timeout.error';
import type { WorkflowStatusInfo } from '../interfaces/workflow-status.interface';
import type { WorkflowStatusRepository } from '../system-database/workflow-status.repository';
import { toStatusInfo } from './status-info';
import { isTerminal, outcomeOf } from './workflow-outcome';

export interface GetResultOptions {
  /** Reject with DbosTimeoutError when the workflow has not finished by then. Default: wait. */
  timeoutMs?: number;
}

/** Where a handle finds results of workflows that run in the same process (no database wait). */
export interface LocalResults {
  localResult(workflowId: string): Promise<unknown> | undefined;
}

const POLL_START_MS = 5;
const POLL_MAX_MS = 250;

/** A started workflow: its id, its status, its result. */
export class WorkflowHandle<R = unknown> {
  constructor(
    readonly workflowId: string,
    private readonly statuses: WorkflowStatusRepository,
    private readonly local?: LocalResults,
  ) {}

  async getStatus(): Promise<WorkflowStatusInfo | null> {
    const row = await this.statuses.get(this.workflowId);
    return row ? toStatusInfo(row, false) : null;
  }

  /** The workflow's result, or its recorded error thrown (same class name and message). */
  async getResult(options: GetResultOptions = {}): Promise<R> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    const local = this.local?.localResult(this.workflowId);
    if (local) return (await withDeadline(local, deadline, this.workflowId)) as R;
    let delay = POLL_START_MS;
    for (;;) {
      const row = await this.statuses.get(this.workflowId);
      if (!row) throw new DbosNotFoundError(`No workflow has the id "${this.workflowId}".`);
      if (isTerminal(row.status)) return outcomeOf(row) as R;
      const stillLocal = this.local?.localResult(this.workflowId);
      if (stillLocal) return (await withDeadline(stillLocal, deadline, this.workflowId)) as R;
      const left = deadline - Date.now();
      if (left <= 0) throw resultTimeout(this.workflowId, row.status);
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
      delay = Math.min(delay * 2, POLL_MAX_MS);
    }
  }
}

function resultTimeout(workflowId: string, status: string): DbosTimeoutError {
  return new DbosTimeoutError(workflowId, `no result within the wait given to getResult (still ${status}).`);
}

async function withDeadline<T>(promise: Promise<T>, deadline: number, workflowId: string): Promise<T> {
  if (deadline === Infinity) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(resultTimeout(workflowId, 'PENDING')), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
