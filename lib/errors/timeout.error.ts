import { DbosError } from './dbos.error';

/** A workflow ran past its deadline, or a wait for its result ran out. */
export class DbosTimeoutError extends DbosError {
  constructor(
    readonly workflowId: string,
    readonly detail: string,
  ) {
    super(`Workflow "${workflowId}": ${detail}`);
  }
}
