import { countRetry, metricsOn, recordStepDuration } from './metrics';
import { inStepSpan, type StepSpanInfo } from './tracing';

/** One attempt of a step or transaction: its span `step <name>`, its duration, and a retry counted after the first. */
export function observeStepAttempt<T>(step: StepSpanInfo, attempt: () => Promise<T>): Promise<T> {
  if (!metricsOn()) return inStepSpan(step, attempt);
  if (step.attempt > 1) countRetry(step.stepName);
  const start = performance.now();
  return inStepSpan(step, attempt).then(
    (value) => {
      recordStepDuration(step.stepName, 'SUCCESS', performance.now() - start);
      return value;
    },
    (err: unknown) => {
      recordStepDuration(step.stepName, 'ERROR', performance.now() - start);
      throw err;
    },
  );
}
