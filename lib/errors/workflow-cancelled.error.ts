import { DbosError } from './dbos.error';

/** The workflow was cancelled; it stops before its next step. */
export class DbosWorkflowCancelledError extends DbosError {
  constructor(readonly workflowId: string) {
    super(`Workflow "${workflowId}" was cancelled. Resume it with WorkflowClient.resume() to continue it.`);
  }
}
