import { AsyncLocalStorage } from 'node:async_hooks';
import type { EntityManager } from 'typeorm';

/** Replay and numbering state of one run of a workflow, shared by everything it calls. */
export interface WorkflowRunState {
  readonly workflowId: string;
  readonly workflowName: string;
  /** Position of the next operation: step identity is call order. */
  nextStepId: number;
  /** Aborted when the workflow is cancelled or times out. */
  readonly abort: AbortController;
}

export interface WorkflowContextStore {
  run: WorkflowRunState;
  /** Set while a step or transaction body runs: nested steps then run as plain calls. */
  stepName?: string;
  /** Position of the running step. */
  stepId?: number;
  entityManager?: EntityManager;
}

export const workflowContextStorage = new AsyncLocalStorage<WorkflowContextStore>();

export function currentWorkflowContext(): WorkflowContextStore | undefined {
  return workflowContextStorage.getStore();
}
