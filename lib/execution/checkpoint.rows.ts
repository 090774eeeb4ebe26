import { DbosNondeterminismError } from '../errors/nondeterminism.error';
import { DbosSerializationError } from '../errors/serialization.error';
import { deserialize, deserializeError } from '../serialization/value.codec';
import type { OperationOutputRow } from '../system-database/system.rows';

/** Where an operation's checkpoint goes: its workflow, its position, its name, when it started. */
export interface CheckpointPosition {
  workflowId: string;
  stepId: number;
  stepName: string;
  startedAt: number;
}

/** The checkpoint row of an operation that ends now: its serialized output, or its error. */
export function checkpointRow(
  at: CheckpointPosition,
  outcome: { output?: string | null; error?: string | null; childWorkflowId?: string | null },
): OperationOutputRow {
  return {
    workflowId: at.workflowId,
    stepId: at.stepId,
    stepName: at.stepName,
    output: outcome.output ?? null,
    error: outcome.error ?? null,
    startedAt: at.startedAt,
    completedAt: Date.now(),
    childWorkflowId: outcome.childWorkflowId ?? null,
  };
}

/** True when `existing` records the same outcome as `row` (a write that committed but whose reply was lost). */
export function sameOutcome(existing: OperationOutputRow, row: OperationOutputRow): boolean {
  return existing.stepName === row.stepName && existing.output === row.output && existing.error === row.error;
}

/** What a recorded checkpoint says: its value, or its error thrown; a different name is nondeterminism. */
export function replayCheckpoint<T>(workflowId: string, stepId: number, name: string, row: OperationOutputRow): T {
  if (row.stepName !== name) {
    throw new DbosNondeterminismError(workflowId, stepId, row.stepName, name);
  }
  let decoded: { error: Error } | { value: T };
  try {
    decoded = row.error !== null ? { error: deserializeError(row.error) } : { value: deserialize<T>(row.output) };
  } catch (err) {
    throw new DbosSerializationError(
      `the recorded checkpoint of step ${stepId} ("${row.stepName}") of workflow "${workflowId}"`,
      `the stored row is corrupt (${(err as Error).message}); repair or delete that operation_outputs row, then resume the workflow`,
    );
  }
  if ('error' in decoded) throw decoded.error;
  return decoded.value;
}
