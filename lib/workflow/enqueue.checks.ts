import { DbosConfigurationError } from '../errors/configuration.error';
import { DbosConflictError } from '../errors/conflict.error';
import type { QueueOptions } from '../interfaces/dbos-module-options.interface';
import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import type { WorkflowStatusRow } from '../system-database/system.rows';
import type { QueueRepository } from '../system-database/queue.repository';

/** Options that contradict the queue they are enqueued on. */
export function checkEnqueueOptions(queue: QueueOptions, options: StartWorkflowOptions): void {
  if (options.priority !== undefined && options.priority !== 0 && !queue.priorityEnabled) {
    throw new DbosConfigurationError(`Queue "${queue.name}" does not order by priority: declare it with priorityEnabled: true.`);
  }
  if (queue.partitioned && options.partitionKey === undefined) {
    throw new DbosConfigurationError(`Queue "${queue.name}" is partitioned: every enqueue needs a partitionKey.`);
  }
  if (!queue.partitioned && options.partitionKey !== undefined) {
    throw new DbosConfigurationError(`Queue "${queue.name}" is not partitioned: declare it with partitioned: true to use partitionKey.`);
  }
}

/**
 * An insert that did not happen: the id exists (an idempotent start: same id, same workflow) or
 * the deduplication id is taken (refused, or the existing id with onDuplicate 'return-existing').
 */
export async function resolveExisting(
  queues: QueueRepository,
  existing: WorkflowStatusRow | null,
  workflowName: string,
  workflowId: string,
  options: StartWorkflowOptions,
): Promise<string> {
  if (existing) {
    if (existing.workflowName !== workflowName) {
      throw new DbosConflictError(
        `Workflow id "${workflowId}" is already used by a "${existing.workflowName}" workflow; it cannot start "${workflowName}". Use another workflow id.`,
      );
    }
    return workflowId;
  }
  const holder = options.queue && options.deduplicationId ? await queues.findByDeduplicationId(options.queue, options.deduplicationId) : null;
  if (holder && options.onDuplicate === 'return-existing') return holder;
  throw new DbosConflictError(
    `Deduplication id "${options.deduplicationId}" is taken on queue "${options.queue}" by workflow "${holder ?? 'unknown'}", ` +
      `which is still queued or running; it is free again once that workflow finishes.`,
  );
}
