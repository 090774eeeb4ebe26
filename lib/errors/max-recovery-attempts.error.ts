import { DbosError } from './dbos.error';

/** Recovery gave up on a workflow that kept crashing its executor. */
export class DbosMaxRecoveryAttemptsError extends DbosError {
  constructor(
    readonly workflowId: string,
    readonly maxAttempts: number,
  ) {
    super(
      `Workflow "${workflowId}" was recovered more than ${maxAttempts} times without finishing and is now ` +
        `MAX_RECOVERY_ATTEMPTS_EXCEEDED. Find the step that crashes the process (listSteps), fix it, ` +
        `then resume the workflow.`,
    );
  }
}
