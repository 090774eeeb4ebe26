import type { OperationOutputRow, WorkflowStatusRow } from './system.rows';

type Raw = Record<string, unknown>;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export const STATUS_COLUMNS = `workflow_id, status, workflow_name, class_name, inputs, output, error, executor_id,
  application_version, recovery_attempts, queue_name, priority, deduplication_id, partition_key, delay_until,
  timeout_ms, deadline, parent_workflow_id, forked_from, started_at, created_at, updated_at, run_epoch, trace_context, attributes`;

/** STATUS_COLUMNS with the payloads (inputs, output, error) left unread. */
export const STATUS_COLUMNS_WITHOUT_PAYLOADS = STATUS_COLUMNS.replace('inputs, output, error,', 'NULL AS inputs, NULL AS output, NULL AS error,');

/** STATUS_COLUMNS qualified by a table alias, for joins and UPDATE ... FROM. */
export function statusColumnsOf(alias: string): string {
  return qualified(STATUS_COLUMNS, alias);
}

/** STEP_COLUMNS qualified by a table alias. */
export function stepColumnsOf(alias: string): string {
  return qualified(STEP_COLUMNS, alias);
}

function qualified(columns: string, alias: string): string {
  return columns
    .split(',')
    .map((c) => `${alias}.${c.trim()}`)
    .join(', ');
}

export function toStatusRow(raw: Raw): WorkflowStatusRow {
  return {
    workflowId: String(raw.workflow_id),
    status: String(raw.status),
    workflowName: String(raw.workflow_name),
    className: str(raw.class_name),
    inputs: str(raw.inputs),
    output: str(raw.output),
    error: str(raw.error),
    executorId: str(raw.executor_id),
    applicationVersion: str(raw.application_version),
    recoveryAttempts: Number(raw.recovery_attempts ?? 0),
    queueName: str(raw.queue_name),
    priority: Number(raw.priority ?? 0),
    deduplicationId: str(raw.deduplication_id),
    partitionKey: str(raw.partition_key),
    delayUntil: num(raw.delay_until),
    timeoutMs: num(raw.timeout_ms),
    deadline: num(raw.deadline),
    parentWorkflowId: str(raw.parent_workflow_id),
    forkedFrom: str(raw.forked_from),
    startedAt: num(raw.started_at),
    createdAt: Number(raw.created_at),
    updatedAt: Number(raw.updated_at),
    runEpoch: Number(raw.run_epoch ?? 0),
    traceContext: str(raw.trace_context),
    attributes: (raw.attributes as Record<string, string> | null | undefined) ?? null,
  };
}

export const STEP_COLUMNS = `workflow_id, step_id, step_name, output, error, child_workflow_id, started_at, completed_at`;

export function toStepRow(raw: Raw): OperationOutputRow {
  return {
    workflowId: String(raw.workflow_id),
    stepId: Number(raw.step_id),
    stepName: String(raw.step_name),
    output: str(raw.output),
    error: str(raw.error),
    childWorkflowId: str(raw.child_workflow_id),
    startedAt: num(raw.started_at),
    completedAt: num(raw.completed_at),
  };
}
