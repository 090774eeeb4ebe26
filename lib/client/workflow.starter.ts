import type { WorkflowHandle } from './workflow.handle';

/** A class, by its constructor. */
export type ClassType<T = unknown> = abstract new (...args: never[]) => T;

/** `start(Type, options)` gives an object with the workflow methods of Type, each starting it and returning a handle. */
export type WorkflowStarter<T> = {
  [K in keyof T as T[K] extends (...args: never[]) => Promise<unknown> ? K : never]: T[K] extends (...args: infer A) => Promise<infer R>
    ? (...args: A) => Promise<WorkflowHandle<R>>
    : never;
};

/** The object `start(Type)` returns: each method name it is asked for starts that workflow through `start`. */
export function workflowStarter<T>(start: (methodName: string, args: unknown[]) => Promise<WorkflowHandle<unknown>>): WorkflowStarter<T> {
  return new Proxy({} as WorkflowStarter<T>, {
    get: (_target, methodName) => (typeof methodName === 'string' ? (...args: unknown[]) => start(methodName, args) : undefined),
  });
}
