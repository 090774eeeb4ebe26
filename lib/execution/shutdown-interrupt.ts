import { DbosError } from '../errors/dbos.error';

/** Thrown at a step boundary while the executor shuts down; the workflow stays PENDING for recovery. */
export class DbosShutdownInterrupt extends DbosError {
  constructor(readonly workflowId: string) {
    super(`The executor is shutting down; workflow "${workflowId}" stops here and resumes from this step after a restart.`);
  }
}
