import { DbosError } from '../errors/dbos.error';

/** Thrown at a step boundary while the executor shuts down; the workflow stays PENDING for recovery. */
export class DbosShutdownInterrupt extends DbosError {
  constructor(readonly workflowId?: string) {
    super(
      workflowId === undefined
        ? 'The executor is shutting down and takes no new work; running workflows resume from their last step after a restart.'
        : `The executor is shutting down; workflow "${workflowId}" stops here and resumes from this step after a restart.`,
    );
  }
}
