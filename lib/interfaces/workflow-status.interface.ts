export type WorkflowStatusType = 'ENQUEUED' | 'PENDING' | 'SUCCESS' | 'ERROR' | 'CANCELLED' | 'MAX_RECOVERY_ATTEMPTS_EXCEEDED';

export const WorkflowStatus = {
  ENQUEUED: 'ENQUEUED',
  PENDING: 'PENDING',
  SUCCESS: 'SUCCESS',
  ERROR: 'ERROR',
  CANCELLED: 'CANCELLED',
  MAX_RECOVERY_ATTEMPTS_EXCEEDED: 'MAX_RECOVERY_ATTEMPTS_EXCEEDED',
} as const satisfies Record<WorkflowStatusType, WorkflowStatusType>;

/** What `getStatus()` and `list()` return for a workflow. */
export interface WorkflowStatusInfo {
  workflowId: string;
  status: WorkflowStatusType;
  workflowName: string;
  className?: string;
  queue?: string;
  executorId: string | null;
  applicationVersion: string | null;
  recoveryAttempts: number;
  createdAt: Date;
  updatedAt: Date;
  input?: unknown[];
  output?: unknown;
  /** The recorded error (its class, message, fields and `cause`); in JSON it is `{ name, message, code?, cause? }`, the cause chain bounded. `getResult()` throws it. */
  error?: Error;
  parentWorkflowId?: string;
  forkedFrom?: string;
  /** The attributes given at its start (`start(Type, { attributes })`); absent when it has none. */
  attributes?: Record<string, string>;
}

/** One page of `listPage()`: the workflows, and the cursor of the next page (null on the last). */
export interface WorkflowPage {
  workflows: WorkflowStatusInfo[];
  nextCursor: string | null;
}

/** One recorded operation of a workflow, as `listSteps()` returns it. */
export interface StepInfo {
  stepId: number;
  name: string;
  output?: unknown;
  /** The step's recorded error; in JSON it is `{ name, message }`. */
  error?: Error;
  startedAt: Date | null;
  completedAt: Date | null;
  childWorkflowId?: string;
}

export interface ListWorkflowsOptions {
  status?: WorkflowStatusType | WorkflowStatusType[];
  workflowName?: string;
  queue?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  updatedAfter?: Date;
  updatedBefore?: Date;
  executorId?: string;
  applicationVersion?: string;
  parentWorkflowId?: string;
  forkedFrom?: string;
  /** Workflow ids starting with this text. */
  workflowIdPrefix?: string;
  /** Only workflows whose attributes include every one of these pairs (an indexed containment match). */
  attributes?: Record<string, string>;
  limit?: number;
  /** Skips this many rows: the cost grows with it; prefer `cursor` (or `listPage()`) for paging. */
  offset?: number;
  /** Rows after this position: the `nextCursor` of a `listPage()` call with the same filters and `sortDesc`. */
  cursor?: string;
  /**
   * Newest first. Default oldest first: by creation, or by last update when `updatedAfter` or
   * `updatedBefore` is given without `createdAfter`/`createdBefore`.
   */
  sortDesc?: boolean;
  /** Set false to leave inputs and outputs out of the rows (cheaper for large payloads). Default true. */
  loadPayloads?: boolean;
}
