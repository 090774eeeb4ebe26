import type { Logger } from '@nestjs/common';
import type { CancelledWorkflow } from '../system-database/admin.repository';
import { storedWorkflowLabel, workflowLabel } from '../observability/log-label';

/**
 * One line per workflow a cancel was given (a root), naming the descendants it stopped with it:
 * `Workflow A [trace T] (Name) cancelled with 2 descendant(s): A-0, A-1` (the trace its start stored).
 */
export function logCancels(logger: Pick<Logger, 'log'>, cancelled: CancelledWorkflow[], what: string): void {
  const descendants = new Map<string, string[]>();
  for (const c of cancelled) if (c.rootId !== c.workflowId) descendants.set(c.rootId, [...(descendants.get(c.rootId) ?? []), c.workflowId]);
  for (const c of cancelled) {
    if (c.rootId !== c.workflowId) continue;
    const children = descendants.get(c.workflowId) ?? [];
    logger.log(
      `${storedWorkflowLabel(c)} (${c.workflowName}) ${what}${children.length > 0 ? ` with ${children.length} descendant(s): ${children.join(', ')}` : ''}`,
    );
  }
  // Descendants of a root that had itself finished already: the root is not in the list.
  for (const [rootId, children] of descendants) {
    if (!cancelled.some((c) => c.workflowId === rootId))
      logger.log(`${workflowLabel(rootId)} had finished; ${what} its ${children.length} unfinished descendant(s): ${children.join(', ')}`);
  }
}
