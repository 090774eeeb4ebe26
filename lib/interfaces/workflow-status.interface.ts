export type WorkflowStatusType =
  | 'ENQUEUED'
  | 'PENDING'
  | 'SUCCESS'
  | 'ERROR'
  | 'CANCELLED'
  | 'MAX_RECOVERY_ATTEMPTS_EXCEEDED';

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
  error?: Error;
  parentWorkflowId?: string;
  forkedFrom?: string;
}

/** One recorded operation of a workflow, as `listSteps()` returns it. */
export interface StepInfo {
  stepId: number;
  name: string;
  output?: unknown;
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
  limit?: number;
  offset?: number;
  sortDesc?: boolean;
  /** Leave inputs and outputs out of the rows (cheaper for large payloads). */
  loadPayloads?: boolean;
}
