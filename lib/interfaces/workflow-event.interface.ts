import type { WorkflowStatusType } from './workflow-status.interface';

/**
 * What `@OnWorkflowEvent` methods hear, in the process that observed it:
 * - `finished`: this process recorded the workflow's SUCCESS;
 * - `failed`: this process recorded its ERROR, or marked it MAX_RECOVERY_ATTEMPTS_EXCEEDED (see `status`);
 * - `cancelled`: a cancel issued here (by this app's WorkflowClient, or a timeout), or a run of it
 *   here stopped by a cancel issued elsewhere;
 * - `recovered`: this process resumed it (restart recovery, the sweep, adoption from a silent executor,
 *   or adoption by a newer version of a workflow whose version no executor runs any more).
 */
export type WorkflowEventType = 'finished' | 'failed' | 'cancelled' | 'recovered';

/**
 * How a `recovered` workflow came back: `restart` recovery, the `sweep`, `adoption` from a silent
 * executor of its version, or `version` adoption (a newer version took a workflow of an older
 * one that no executor runs any more, once it replayed cleanly).
 */
export type WorkflowRecoverySource = 'restart' | 'sweep' | 'adoption' | 'version';

export interface WorkflowEvent<T = unknown> {
  type: WorkflowEventType;
  workflowId: string;
  workflowName: string;
  /**
   * The status recorded: SUCCESS (`finished`), ERROR or MAX_RECOVERY_ATTEMPTS_EXCEEDED (`failed`),
   * CANCELLED (`cancelled`), PENDING or ENQUEUED (`recovered`: ENQUEUED when it went back to its queue).
   */
  status: WorkflowStatusType;
  /** The workflow's result (`finished`). Shared with the workflow's local awaiters: treat it as read-only. */
  output?: T;
  /** Why it failed or stopped (`failed`, `cancelled`: DbosWorkflowCancelledError or DbosTimeoutError). */
  error?: Error;
  /** `cancelled` of a descendant: the workflow whose cancel (or timeout) reached it. */
  cancelledWith?: string;
  /** `cancelled`: `here` when this process issued the cancel, `remote` when a run here was stopped by a cancel issued elsewhere. */
  cancelSource?: 'here' | 'remote';
  /** `recovered`: how. */
  recoverySource?: WorkflowRecoverySource;
  /** `recovered` by adoption (`adoption`, `version`): the silent executor it was taken from. */
  previousExecutorId?: string;
  /** The executor (process) that observed the event. */
  executorId: string;
  at: Date;
}

export interface OnWorkflowEventOptions {
  /** Only events of workflows of this name (or these names), e.g. `'CheckoutService.checkout'`. */
  workflowName?: string | string[];
}
