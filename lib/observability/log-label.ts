import { traceIdOf } from './trace-context';
import { activeTraceId } from './tracing';

/**
 * How a log line names a workflow (and the step it is at): `Workflow <id>`, `Workflow <id> step
 * <n> (<name>)`, followed by `[trace <traceId>]` when a span is active. Every line of the module
 * about one workflow starts with it, so a log search for `Workflow <id>` finds them all.
 */
export function workflowLabel(workflowId: string, step?: { stepId: number; stepName: string }): string {
  return label(workflowId, step, activeTraceId());
}

/**
 * The label of a line logged outside the workflow's span (a recovery, a dequeue, an adoption, a
 * cancel): with the trace its start stored, when it stored one (else the active span's).
 */
export function storedWorkflowLabel(row: { workflowId: string; traceContext: string | null }): string {
  return label(row.workflowId, undefined, traceIdOf(row.traceContext) ?? activeTraceId());
}

function label(workflowId: string, step: { stepId: number; stepName: string } | undefined, traceId: string | undefined): string {
  return `Workflow ${workflowId}${step ? ` step ${step.stepId} (${step.stepName})` : ''}${traceId ? ` [trace ${traceId}]` : ''}`;
}
