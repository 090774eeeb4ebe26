import { currentWorkflowContext, type WorkflowContextStore, type WorkflowRunState } from '../context/workflow-context.storage';
import { DbosError } from '../errors/dbos.error';
import { DbosNondeterminismError } from '../errors/nondeterminism.error';
import { DbosSerializationError } from '../errors/serialization.error';
import { deserialize, deserializeError } from '../serialization/value.codec';
import type { RecordCheckpointResult } from '../system-database/checkpoint.repository';
import type { OperationOutputRow } from '../system-database/system.rows';
import type { ReplayOnlyMode } from './replay-only.mode';

export interface ExecutionState extends WorkflowRunState {
  /** Checkpoints of an earlier run, by position; null for a fresh workflow (nothing to read). */
  readonly recorded: Map<number, OperationOutputRow> | null;
  /** Epoch ms after which the workflow is cancelled with DbosTimeoutError. */
  deadline: number | null;
  /** `abort` or the executor's stop signal, with that one's reason: what the steps and waits of this run listen to. */
  readonly signal: AbortSignal;
  /** The run's epoch: its checkpoints and outcome are written only while the workflow's row still has it. */
  readonly epoch: number;
  /** The heartbeat generation at which this run last knew it owned the workflow (see confirmOwnership). */
  confirmedGeneration: number;
  /** Set when an interruption (shutdown, outage, lost ownership) was thrown into the body: a result it returns anyway is not recorded. */
  interrupted: boolean;
  /**
   * The last step's checkpoint, not written yet: it is written before the run's next operation
   * starts, or with the outcome when the body returns first, or alone on the next turn of the
   * event loop, whichever comes first (see StepRunner.deferCheckpoint).
   */
  deferred?: DeferredCheckpoint;
  /**
   * Set when a held-back checkpoint was found written by another run with another value: whatever
   * the body does after (even catching the error) is not recorded; the run replays.
   */
  replay?: Error;
  /** Set on a replay check: nothing runs, nothing is written (see ReplayOnlyMode). */
  readonly replayOnly?: ReplayOnlyMode;
}

/** A step checkpoint held back for one turn of the event loop; `flushing` once its own write started. */
export interface DeferredCheckpoint {
  readonly row: OperationOutputRow;
  readonly epoch: number;
  flushing?: Promise<RecordCheckpointResult | { failed: unknown }>;
}

/** The store of the running workflow when we are in its body (not inside a step); else undefined. */
export function workflowBodyStore(): (WorkflowContextStore & { run: ExecutionState }) | undefined {
  const store = currentWorkflowContext();
  return store && store.stepName === undefined ? (store as WorkflowContextStore & { run: ExecutionState }) : undefined;
}

export function requireWorkflowBody(operation: string): WorkflowContextStore & { run: ExecutionState } {
  const store = workflowBodyStore();
  if (!store) {
    throw new DbosError(`${operation} can only be called from a @Workflow method (not from a step, a transaction or outside a workflow).`);
  }
  return store;
}

/** What a recorded checkpoint says: its value, or its error thrown; a different name is nondeterminism. */
export function replayCheckpoint<T>(state: ExecutionState, stepId: number, name: string, row: OperationOutputRow): T {
  if (row.stepName !== name) {
    throw new DbosNondeterminismError(state.workflowId, stepId, row.stepName, name);
  }
  let decoded: { error: Error } | { value: T };
  try {
    decoded = row.error !== null ? { error: deserializeError(row.error) } : { value: deserialize<T>(row.output) };
  } catch (err) {
    throw new DbosSerializationError(
      `the recorded checkpoint of step ${stepId} ("${row.stepName}") of workflow "${state.workflowId}"`,
      `the stored row is corrupt (${(err as Error).message}); repair or delete that operation_outputs row, then resume the workflow`,
    );
  }
  if ('error' in decoded) throw decoded.error;
  return decoded.value;
}
