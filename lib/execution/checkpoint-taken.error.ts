import { DbosError } from '../errors/dbos.error';

/**
 * A deferred checkpoint found its position already written by another run of the same epoch
 * (e.g. a write that committed but whose reply was lost). The body already went on with its own
 * value, so the run replays from the recorded checkpoints instead of going on.
 */
export class CheckpointTakenError extends DbosError {
  constructor(
    readonly workflowId: string,
    readonly stepId: number,
    readonly stepName: string,
  ) {
    super(`Step ${stepId} of workflow "${workflowId}" was recorded by another run; this run replays from the checkpoints.`);
  }
}
