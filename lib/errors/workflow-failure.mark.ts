/**
 * The mark `WorkflowHandle.getResult()` puts on the error it throws for a workflow that ended in
 * ERROR, CANCELLED or MAX_RECOVERY_ATTEMPTS_EXCEEDED, so DbosExceptionFilter can tell a workflow's
 * recorded failure from a fault of the request (the recorded error keeps its own class).
 */
const MARK = Symbol.for('nestjs-dbos.workflowFailure');

export type WorkflowFailureStatus = 'ERROR' | 'CANCELLED' | 'MAX_RECOVERY_ATTEMPTS_EXCEEDED';

export interface WorkflowFailure {
  workflowId: string;
  status: WorkflowFailureStatus;
}

/** Marks `error` (a non-enumerable symbol property: it is neither stored nor shown) and returns it. */
export function markWorkflowFailure<E>(error: E, failure: WorkflowFailure): E {
  if (typeof error === 'object' && error !== null && Object.isExtensible(error) && !(MARK in error)) {
    Object.defineProperty(error, MARK, { value: failure, enumerable: false, configurable: true });
  }
  return error;
}

export function workflowFailureOf(error: unknown): WorkflowFailure | undefined {
  return typeof error === 'object' && error !== null ? (error as { [MARK]?: WorkflowFailure })[MARK] : undefined;
}

/** Matches, for `@Catch()`, any error marked by markWorkflowFailure (instanceof is its check). */
export abstract class MarkedWorkflowFailure {
  static [Symbol.hasInstance](value: unknown): boolean {
    return workflowFailureOf(value) !== undefined;
  }
}
