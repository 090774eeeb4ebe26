import { createHash } from 'node:crypto';
import { DbosConfigurationError } from '../errors/configuration.error';
import type { Schedule, StepRegistration, WorkflowRegistration } from './registration.interfaces';

export type { Schedule, StepRegistration, WorkflowRegistration } from './registration.interfaces';

/** Every workflow and step of the app, by name and by class + method. */
export class WorkflowRegistry {
  private readonly workflows = new Map<string, WorkflowRegistration>();
  private readonly byClass = new Map<Function, Map<string, WorkflowRegistration>>();
  private readonly steps: StepRegistration[] = [];
  private readonly scheduled: Schedule[] = [];

  addWorkflow(registration: WorkflowRegistration): void {
    const existing = this.workflows.get(registration.name);
    if (existing) {
      throw new DbosConfigurationError(
        `Two workflows are registered as "${registration.name}": ${existing.className}.${existing.methodName} and ` +
          `${registration.className}.${registration.methodName}. Give one of them another @Workflow({ name }).`,
      );
    }
    this.workflows.set(registration.name, registration);
    const ctor = registration.instance.constructor;
    if (!this.byClass.has(ctor)) this.byClass.set(ctor, new Map());
    this.byClass.get(ctor)!.set(registration.methodName, registration);
  }

  addStep(registration: StepRegistration): void {
    this.steps.push(registration);
  }

  addSchedule(schedule: Schedule): void {
    this.scheduled.push(schedule);
  }

  schedules(): Schedule[] {
    return [...this.scheduled];
  }

  getWorkflow(name: string): WorkflowRegistration | undefined {
    return this.workflows.get(name);
  }

  getWorkflowOf(type: Function, methodName: string): WorkflowRegistration | undefined {
    for (let proto = type; proto && proto !== Function.prototype; proto = Object.getPrototypeOf(proto)) {
      const found = this.byClass.get(proto)?.get(methodName);
      if (found) return found;
    }
    return undefined;
  }

  /** The @Step or @Transaction registered as `name`. */
  getStep(name: string): StepRegistration | undefined {
    return this.steps.find((s) => s.name === name);
  }

  stepNames(): string[] {
    return this.steps.map((s) => s.name).sort();
  }

  workflowNames(): string[] {
    return [...this.workflows.keys()].sort();
  }

  /** Default application version: changes whenever the code of a workflow or step changes. */
  codeHash(): string {
    const hash = createHash('sha256');
    const parts = [
      ...[...this.workflows.values()].map((w) => `workflow ${w.name}\n${w.method.toString()}`),
      ...this.steps.map((s) => `${s.kind} ${s.name}\n${s.method.toString()}`),
    ].sort();
    for (const part of parts) hash.update(part).update('\0');
    return hash.digest('hex').slice(0, 32);
  }
}
