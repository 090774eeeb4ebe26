import type { StepInfo, WorkflowStatusInfo, WorkflowStatusType } from '../interfaces/workflow-status.interface';
import { errorSummary } from '../serialization/error-cause';
import { deserialize, deserializeError } from '../serialization/value.codec';
import type { OperationOutputRow, WorkflowStatusRow } from '../system-database/system.rows';

export function toStatusInfo(row: WorkflowStatusRow, withPayloads: boolean): WorkflowStatusInfo {
  const info: WorkflowStatusInfo = {
    workflowId: row.workflowId,
    status: row.status as WorkflowStatusType,
    workflowName: row.workflowName,
    executorId: row.executorId,
    applicationVersion: row.applicationVersion,
    recoveryAttempts: row.recoveryAttempts,
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
  };
  if (row.className) info.className = row.className;
  if (row.queueName) info.queue = row.queueName;
  if (row.error) info.error = recordedError(row.error);
  if (row.parentWorkflowId) info.parentWorkflowId = row.parentWorkflowId;
  if (row.forkedFrom) info.forkedFrom = row.forkedFrom;
  if (row.attributes) info.attributes = row.attributes;
  if (withPayloads) {
    if (row.inputs) info.input = deserialize<unknown[]>(row.inputs);
    if (row.output) info.output = deserialize(row.output);
  }
  return info;
}

export function toStepInfo(row: OperationOutputRow): StepInfo {
  const info: StepInfo = {
    stepId: row.stepId,
    name: row.stepName,
    startedAt: row.startedAt === null ? null : new Date(row.startedAt),
    completedAt: row.completedAt === null ? null : new Date(row.completedAt),
  };
  if (row.output !== null) info.output = deserialize(row.output);
  if (row.error !== null) info.error = recordedError(row.error);
  if (row.childWorkflowId) info.childWorkflowId = row.childWorkflowId;
  return info;
}

/**
 * A recorded error as itself (its class, message, fields and stack), that renders as
 * `{ name, message, code?, cause? }` in JSON (the cause chain, bounded): a controller returning a
 * status shows why it failed, never `{}`.
 */
function recordedError(text: string): Error {
  const error = deserializeError(text);
  Object.defineProperty(error, 'toJSON', {
    value: () => errorSummary(error),
    enumerable: false,
    configurable: true,
    writable: true,
  });
  return error;
}
