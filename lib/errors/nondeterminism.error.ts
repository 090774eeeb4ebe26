import { DbosError } from './dbos.error';

/**
 * Replay found a different operation at a position than the one recorded. `recordedName` is null
 * when nothing was recorded there (the recorded run had ended); `calledName` is null when the code
 * ended before reaching the recorded operation.
 */
export class DbosNondeterminismError extends DbosError {
  constructor(
    readonly workflowId: string,
    readonly stepId: number,
    readonly recordedName: string | null,
    readonly calledName: string | null,
  ) {
    super(
      `Workflow "${workflowId}" is not deterministic: ${describe(stepId, recordedName, calledName)}. A workflow must call its ` +
        `steps in the same order every time; move branching on outside data (time, random, I/O) into steps, guard a code ` +
        `change with DbosContext.patched(), or start a new workflow version instead of changing the code of running workflows.`,
    );
  }
}

function describe(stepId: number, recordedName: string | null, calledName: string | null): string {
  if (recordedName === null) return `the recorded run ended before step ${stepId}, but the replay called "${calledName}" there`;
  if (calledName === null) return `step ${stepId} was recorded as "${recordedName}" but the replay ended before reaching it`;
  return `step ${stepId} was recorded as "${recordedName}" but the replay called "${calledName}"`;
}
