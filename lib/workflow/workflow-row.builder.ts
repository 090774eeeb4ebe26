import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import type { NewWorkflowRow } from '../system-database/run-lifecycle.repository';
import { attributesToStore } from './workflow.attributes';

export interface NewWorkflow {
  workflowId: string;
  workflowName: string;
  className: string | null;
  /** The serialized arguments. */
  inputs: string;
  applicationVersion: string | null;
  /** How it starts: at once (no queue) or queued, with the queue options. */
  options: Omit<StartWorkflowOptions, 'workflowId' | 'onDuplicate'>;
  /** The executor that runs it now; undefined for a queued workflow (its dispatcher decides). */
  runsOn?: string;
  parentWorkflowId?: string;
  /** A child's deadline is never later than its parent's. */
  parentDeadline?: number | null;
  /** The trace context active at the start (see currentTraceContext in observability/). */
  traceContext?: string | null;
}

/**
 * The status row of a workflow about to start (PENDING on `runsOn`) or be enqueued (ENQUEUED),
 * the one place its columns are derived from the start options. A queued workflow's own
 * deadline starts when it is dequeued, so only its parent's bounds it here.
 */
export function newWorkflowRow(workflow: NewWorkflow, now = Date.now()): NewWorkflowRow {
  const { options } = workflow;
  const queued = options.queue !== undefined;
  const parentDeadline = workflow.parentDeadline ?? null;
  const timeoutMs = options.timeoutMs ?? null;
  const ownDeadline = queued || timeoutMs === null ? null : now + timeoutMs;
  return {
    workflowId: workflow.workflowId,
    status: queued ? 'ENQUEUED' : 'PENDING',
    workflowName: workflow.workflowName,
    className: workflow.className,
    inputs: workflow.inputs,
    executorId: queued ? null : (workflow.runsOn ?? null),
    applicationVersion: workflow.applicationVersion,
    queueName: options.queue ?? null,
    priority: options.priority ?? 0,
    deduplicationId: options.deduplicationId ?? null,
    partitionKey: options.partitionKey ?? null,
    delayUntil: options.delayMs ? now + options.delayMs : null,
    timeoutMs,
    deadline: earliest(ownDeadline, parentDeadline),
    parentWorkflowId: workflow.parentWorkflowId ?? null,
    forkedFrom: null,
    startedAt: queued ? null : now,
    createdAt: now,
    updatedAt: now,
    traceContext: workflow.traceContext ?? null,
    attributes: attributesToStore(options.attributes),
  };
}

function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}
