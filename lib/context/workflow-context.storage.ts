import { AsyncLocalStorage } from 'node:async_hooks';
import type { EntityManager } from 'typeorm';

/** Replay and numbering state of one run of a workflow, shared by everything it calls. */
export interface WorkflowRunState {
  readonly workflowId: string;
  readonly workflowName: string;
  /** Position of the next operation: step identity is call order. */
  nextStepId: number;
}

/** Operations the context needs from the executor (implemented by execution/). */
export interface WorkflowRuntime {
  runOperation<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

export interface WorkflowContextStore {
  run: WorkflowRunState;
  runtime: WorkflowRuntime;
  /** Set while a step or transaction body runs: nested steps then run as plain calls. */
  stepName?: string;
  entityManager?: EntityManager;
}

export const workflowContextStorage = new AsyncLocalStorage<WorkflowContextStore>();

export function currentWorkflowContext(): WorkflowContextStore | undefined {
  return workflowContextStorage.getStore();
}
