import { randomUUID } from 'node:crypto';
import type { WorkflowRegistration } from '../discovery/workflow.registry';
import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import { currentTraceContext } from '../observability/trace-context';
import type { QueueRegistry } from '../queues/queue.registry';
import type { NewWorkflowRow } from '../system-database/run-lifecycle.repository';
import { checkEnqueueOptions } from '../workflow/enqueue.checks';
import { checkWorkflowId, serializeWithin } from '../workflow/workflow.limits';
import { newWorkflowRow } from '../workflow/workflow-row.builder';
import type { ExecutorSettings } from './executor.settings';

/** The parent of a child workflow being started. */
export interface StartContext {
  parentWorkflowId?: string;
  parentDeadline?: number | null;
  /** The trace context to store (a broker message's headers); default: the span active now. */
  traceContext?: string | null;
}

/** A queued start's queue is declared here and its options fit it (DbosQueueNotDeclaredError, DbosConfigurationError). */
export function checkQueuedStart(queueRegistry: QueueRegistry, options: StartWorkflowOptions): void {
  if (options.queue !== undefined) checkEnqueueOptions(queueRegistry.require(options.queue), options);
}

/** The status row of a start of `registration` here: checked, serialized, PENDING on this executor or ENQUEUED on its queue. */
export function startRow(
  env: { settings: ExecutorSettings; queueRegistry: QueueRegistry; now: number },
  registration: WorkflowRegistration,
  args: unknown[],
  options: StartWorkflowOptions,
  context: StartContext,
): NewWorkflowRow {
  const inputs = serializeWithin(args, `the arguments of workflow ${registration.name}`, env.settings.maxPayloadBytes);
  const workflowId = options.workflowId ?? randomUUID();
  checkWorkflowId(workflowId);
  checkQueuedStart(env.queueRegistry, options);
  const queued = options.queue !== undefined;
  const timeoutMs = options.timeoutMs ?? registration.options.timeoutMs ?? null;
  return newWorkflowRow(
    {
      workflowId,
      workflowName: registration.name,
      className: registration.className,
      inputs,
      applicationVersion: env.settings.applicationVersion,
      options: { ...options, timeoutMs: timeoutMs ?? undefined },
      runsOn: queued ? undefined : env.settings.executorId,
      parentWorkflowId: context.parentWorkflowId,
      parentDeadline: context.parentDeadline,
      traceContext: context.traceContext ?? currentTraceContext(),
    },
    env.now,
  );
}
