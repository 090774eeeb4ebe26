import { DbosError } from './dbos.error';

/** Replay found a different operation at a position than the one recorded. */
export class DbosNondeterminismError extends DbosError {
  constructor(
    readonly workflowId: string,
    readonly stepId: number,
    readonly recordedName: string,
    readonly calledName: string,
  ) {
    super(
      `Workflow "${workflowId}" is not deterministic: step ${stepId} was recorded as "${recordedName}" ` +
        `but the replay called "${calledName}". A workflow must call its steps in the same order every ` +
        `time; move branching on outside data (time, random, I/O) into steps, or start a new workflow ` +
        `version instead of changing the code of running workflows.`,
    );
  }
}
