import { Logger } from '@nestjs/common';
import { workflowContextStorage } from '../context/workflow-context.storage';
import type { OnWorkflowEventOptions, WorkflowEvent, WorkflowEventType } from '../interfaces/workflow-event.interface';
import { workflowLabel } from '../observability/log-label';

export type WorkflowEventHandler = (event: WorkflowEvent) => unknown;

interface Subscription {
  event: WorkflowEventType;
  workflowNames?: ReadonlySet<string>;
  /** For the log: `ClassName.methodName`. */
  name: string;
  handle: WorkflowEventHandler;
}

/**
 * Delivers workflow events to the `@OnWorkflowEvent` methods found at startup. Delivery is
 * detached from whoever emits: each hook runs on a later turn of the event loop, outside any
 * workflow's context, and is never awaited; a hook that throws or rejects is logged, not retried.
 */
export class WorkflowEventsBus {
  private readonly logger = new Logger('DbosWorkflowEvents');
  private readonly subscriptions: Subscription[] = [];

  constructor(private readonly executorId: string) {}

  subscribe(event: WorkflowEventType, name: string, handle: WorkflowEventHandler, options: OnWorkflowEventOptions = {}): void {
    const names = options.workflowName === undefined ? undefined : new Set(([] as string[]).concat(options.workflowName));
    this.subscriptions.push({ event, name, handle, workflowNames: names });
  }

  get size(): number {
    return this.subscriptions.length;
  }

  /** Hands the event to the matching hooks and returns at once. */
  emit(event: Omit<WorkflowEvent, 'executorId' | 'at'>): void {
    const matching = this.subscriptions.filter((s) => s.event === event.type && (!s.workflowNames || s.workflowNames.has(event.workflowName)));
    if (matching.length === 0) return;
    const full: WorkflowEvent = { ...event, executorId: this.executorId, at: new Date() };
    // Outside the workflow's async context: a @Step a hook calls is a plain call, not a step of the workflow.
    workflowContextStorage.exit(() => setImmediate(() => matching.forEach((s) => this.deliver(s, full))));
  }

  private deliver(subscription: Subscription, event: WorkflowEvent): void {
    const report = (err: unknown) =>
      this.logger.error(
        `${workflowLabel(event.workflowId)}: @OnWorkflowEvent('${event.type}') hook ${subscription.name} failed: ${(err as Error)?.message ?? err}`,
        (err as Error)?.stack,
      );
    try {
      const result = subscription.handle({ ...event });
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') Promise.resolve(result).catch(report);
    } catch (err) {
      report(err);
    }
  }
}
