import { DbosMaxRecoveryAttemptsError } from '../errors/max-recovery-attempts.error';
import { DbosWorkflowCancelledError } from '../errors/workflow-cancelled.error';
import { deserialize, deserializeError } from '../serialization/value.codec';
import type { WorkflowStatusRow } from '../system-database/system.rows';

export const TERMINAL_STATUSES = ['SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'];

export function isTerminal(status: string): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** What awaiting a finished workflow gives: its result, or the recorded error thrown. */
export function outcomeOf(row: WorkflowStatusRow, maxRecoveryAttempts = row.recoveryAttempts - 1): unknown {
  switch (row.status) {
    case 'SUCCESS':
      return deserialize(row.output);
    case 'ERROR':
      throw row.error ? deserializeError(row.error) : new Error(`Workflow "${row.workflowId}" failed`);
    case 'CANCELLED':
      throw row.error ? deserializeError(row.error) : new DbosWorkflowCancelledError(row.workflowId);
    case 'MAX_RECOVERY_ATTEMPTS_EXCEEDED':
      throw row.error ? deserializeError(row.error) : new DbosMaxRecoveryAttemptsError(row.workflowId, maxRecoveryAttempts);
    default:
      throw new Error(`Workflow "${row.workflowId}" has not finished (status ${row.status})`);
  }
}
