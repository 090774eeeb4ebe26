import { AsyncLocalStorage } from 'node:async_hooks';
import type { EntityManager } from 'typeorm';

/** What DbosContext reads of the running workflow's run (the executor's WorkflowRun). */
export interface WorkflowRunView {
  readonly workflowId: string;
  /** Aborted when the workflow is cancelled or times out. */
  readonly abortSignal: AbortSignal;
}

export interface WorkflowContextStore {
  run: WorkflowRunView;
  /** Set while a step or transaction body runs: nested steps then run as plain calls. */
  stepName?: string;
  /** Position of the running step. */
  stepId?: number;
  /** The running step attempt's signal: the run's abortSignal, also aborted at the attempt's deadline (`timeoutMs`). */
  abortSignal?: AbortSignal;
  /** The running @Transaction's transaction object, as its ORM hands it (`DbosContext.tx()`). */
  tx?: unknown;
  /** The same, when that ORM is TypeORM. */
  entityManager?: EntityManager;
}

export const workflowContextStorage = new AsyncLocalStorage<WorkflowContextStore>();

export function currentWorkflowContext(): WorkflowContextStore | undefined {
  return workflowContextStorage.getStore();
}
