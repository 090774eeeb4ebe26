import { WORKFLOW_EVENT_METADATA } from '../dbos.constants';
import type { OnWorkflowEventOptions, WorkflowEventType } from '../interfaces/workflow-event.interface';

export interface WorkflowEventMetadata {
  event: WorkflowEventType;
  options: OnWorkflowEventOptions;
}

/**
 * Calls the decorated provider method with a `WorkflowEvent` each time this process observes the
 * event (see `WorkflowEventType`), after the outcome is recorded and without being awaited by the
 * workflow: a hook that throws or hangs is logged and changes nothing. Several may decorate one method.
 *
 * ```ts
 * @OnWorkflowEvent('failed', { workflowName: 'CheckoutService.checkout' })
 * async alert(event: WorkflowEvent) { ... }
 * ```
 */
export const OnWorkflowEvent =
  (event: WorkflowEventType, options: OnWorkflowEventOptions = {}): MethodDecorator =>
  (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const existing: WorkflowEventMetadata[] = Reflect.getMetadata(WORKFLOW_EVENT_METADATA, method) ?? [];
    Reflect.defineMetadata(WORKFLOW_EVENT_METADATA, [...existing, { event, options }], method);
    return descriptor;
  };
