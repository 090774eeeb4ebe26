import { DbosNondeterminismError } from '../errors/nondeterminism.error';
import type { ReplayOnlyMode } from '../execution/replay-only.mode';
import type { OperationOutputRow } from '../system-database/system.rows';

/** Thrown into the body when it reaches a position beyond a PENDING workflow's record: compatible so far. */
export class ReplayFrontierReached extends Error {
  constructor(readonly stepId: number) {
    super(`replay reached the workflow's frontier at step ${stepId}`);
  }
}

/**
 * The judge of one replay check: every position the body takes must hold a checkpoint of the same
 * name. The first divergence is kept even if the body catches what is thrown into it.
 */
export class ReplayCheck implements ReplayOnlyMode {
  divergence?: DbosNondeterminismError;
  frontier?: number;

  constructor(
    private readonly workflowId: string,
    readonly finished: boolean,
  ) {}

  take(stepId: number, name: string, recorded: OperationOutputRow | undefined): void {
    if (this.divergence) throw this.divergence;
    if (this.frontier !== undefined) throw new ReplayFrontierReached(this.frontier);
    if (!recorded) {
      if (this.finished) throw this.diverge(stepId, null, name);
      this.frontier = stepId;
      throw new ReplayFrontierReached(stepId);
    }
    if (recorded.stepName !== name) throw this.diverge(stepId, recorded.stepName, name);
  }

  /** After the body ended at `nextStepId`: a recorded operation it never reached is a divergence too. */
  checkEnd(nextStepId: number, recorded: Map<number, OperationOutputRow>): void {
    if (this.divergence || this.frontier !== undefined) return;
    const unreached = [...recorded.keys()].filter((stepId) => stepId >= nextStepId).sort((a, b) => a - b)[0];
    if (unreached !== undefined) this.diverge(unreached, recorded.get(unreached)!.stepName, null);
  }

  private diverge(stepId: number, recordedName: string | null, calledName: string | null): DbosNondeterminismError {
    this.divergence ??= new DbosNondeterminismError(this.workflowId, stepId, recordedName, calledName);
    return this.divergence;
  }
}
