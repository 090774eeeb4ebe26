/**
 * Rows of the system tables as the repositories return them (snake_case columns mapped to these
 * camelCase fields by row-mapping.ts; epoch-millisecond bigints as numbers).
 */

/** One row of workflow_status: the source of truth for a workflow's state. */
export interface WorkflowStatusRow {
  workflowId: string;
  status: string;
  workflowName: string;
  className: string | null;
  inputs: string | null;
  output: string | null;
  error: string | null;
  executorId: string | null;
  applicationVersion: string | null;
  recoveryAttempts: number;
  queueName: string | null;
  priority: number;
  deduplicationId: string | null;
  partitionKey: string | null;
  delayUntil: number | null;
  timeoutMs: number | null;
  deadline: number | null;
  parentWorkflowId: string | null;
  forkedFrom: string | null;
  startedAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** Counts the runs the workflow was handed to; a run writes only while it is still the current one. */
  runEpoch: number;
  /** The W3C trace context (JSON of traceparent, tracestate) active at its start: every run of it continues that trace. */
  traceContext: string | null;
  /** The workflow's attributes (string key/values given at its start), null when it has none. */
  attributes: Record<string, string> | null;
}

/** One row of operation_outputs: a checkpoint, at its position in the workflow. */
export interface OperationOutputRow {
  workflowId: string;
  stepId: number;
  stepName: string;
  output: string | null;
  error: string | null;
  childWorkflowId: string | null;
  startedAt: number | null;
  completedAt: number | null;
}
