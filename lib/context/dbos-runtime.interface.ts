import type { WorkflowHandle } from '../client/workflow.handle';
import type { StartWorkflowOptions, StepDecoratorOptions } from '../interfaces/workflow-options.interface';

/** What DbosContext asks of the executor; each call knows the running workflow from the async context. */
export interface DbosRuntime {
  now(): Promise<number>;
  randomUUID(): Promise<string>;
  sleepUntil(deadline: number | { durationMs: number }): Promise<void>;
  send(destinationId: string, message: unknown, topic: string | undefined): Promise<void>;
  recv<T>(topic: string | undefined, timeoutMs: number): Promise<T | null>;
  setEvent(key: string, value: unknown): Promise<void>;
  getEvent<T>(workflowId: string, key: string, timeoutMs: number): Promise<T | null>;
  writeStream(key: string, value: unknown): Promise<void>;
  closeStream(key: string): Promise<void>;
  runStep<T>(fn: () => T | Promise<T>, options: StepDecoratorOptions): Promise<T>;
  patched(name: string): Promise<boolean>;
  deprecatePatch(name: string): Promise<void>;
  /** The results of the handles' workflows, in order; checkpointed in a workflow. */
  waitAll(handles: readonly WorkflowHandle<unknown>[]): Promise<unknown[]>;
  /** The index of the first of the handles to finish; checkpointed in a workflow (the same winner on replay). */
  waitFirst(handles: readonly WorkflowHandle<unknown>[]): Promise<number>;
  startWorkflow(type: Function, methodName: string, args: unknown[], options: StartWorkflowOptions): Promise<WorkflowHandle<unknown>>;
}
