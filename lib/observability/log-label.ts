import { activeTraceId } from './tracing';

/**
 * How a log line names a workflow (and the step it is at): `Workflow <id>`, `Workflow <id> step
 * <n> (<name>)`, followed by `[trace <traceId>]` when a span is active. Every line of the module
 * about one workflow starts with it, so a log search for `Workflow <id>` finds them all.
 */
export function workflowLabel(workflowId: string, step?: { stepId: number; stepName: string }): string {
  const traceId = activeTraceId();
  return `Workflow ${workflowId}${step ? ` step ${step.stepId} (${step.stepName})` : ''}${traceId ? ` [trace ${traceId}]` : ''}`;
}
