import { DbosError } from '../errors/dbos.error';

/**
 * This run of a workflow no longer owns it (it was cancelled and resumed, or adopted by another
 * executor while this one was cut off): the run stops where it is and records nothing.
 */
export class DbosRunSuperseded extends DbosError {
  constructor(readonly workflowId: string) {
    super(`Workflow "${workflowId}" is now run elsewhere (resumed or adopted); this run stops and records nothing.`);
  }
}
