import type { ScheduledOptions, StepDecoratorOptions, TransactionDecoratorOptions, WorkflowDecoratorOptions } from '../interfaces/workflow-options.interface';

type AnyMethod = (...args: unknown[]) => Promise<unknown>;

export interface WorkflowRegistration {
  name: string;
  className: string;
  methodName: string;
  instance: object;
  /** The undecorated method. */
  method: AnyMethod;
  options: WorkflowDecoratorOptions;
}

export interface StepRegistration {
  kind: 'step' | 'transaction';
  name: string;
  className: string;
  methodName: string;
  method: AnyMethod;
  options: StepDecoratorOptions & TransactionDecoratorOptions;
}

/** A @Scheduled workflow and its cron expression. */
export interface Schedule {
  registration: WorkflowRegistration;
  cron: string;
  options: ScheduledOptions;
}
