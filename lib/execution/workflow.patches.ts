import type { StepRunner } from './step.runner';
import { requireCurrentRun } from './workflow.run';

/** The step name of the marker a run records where it took patch `name`. */
export function patchMarker(name: string): string {
  return `DBOS.patch:${name}`;
}

/**
 * `DbosContext.patched(name)`: true where the run takes the new code path. A new run (or one past
 * its recorded positions) records a marker at this position and takes it; a replayed or recovered
 * run takes it only where its record holds the marker (consumed), and otherwise does not consume
 * the position, so the old code path finds its own checkpoints where it recorded them.
 */
export async function patched(steps: StepRunner, name: string): Promise<boolean> {
  const run = requireCurrentRun('DbosContext.patched()');
  const marker = patchMarker(name);
  const recorded = run.recordedAtNext();
  if (recorded) {
    if (recorded.stepName !== marker) return false;
    run.nextPosition(marker);
    return true;
  }
  // A replay check of a run that ended without reaching this point: that run did not take it.
  if (run.replayOnly?.finished) return false;
  await steps.runOperation(run, marker, async () => true);
  return true;
}

/**
 * `DbosContext.deprecatePatch(name)`: the patch's new path is now the only one. A run recorded
 * while the patch was checked still holds its marker here: it is consumed; nothing is recorded.
 */
export function deprecatePatch(name: string): Promise<void> {
  const run = requireCurrentRun('DbosContext.deprecatePatch()');
  const marker = patchMarker(name);
  if (run.recordedAtNext()?.stepName === marker) run.nextPosition(marker);
  return Promise.resolve();
}
