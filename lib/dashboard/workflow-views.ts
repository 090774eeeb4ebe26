import type { StepInfo, WorkflowStatusInfo } from '../interfaces/workflow-status.interface';
import type { WorkflowStatusRow } from '../system-database/system.rows';
import { plainError, plainValue } from './plain-value.util';

const TERMINAL = new Set(['SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED']);

/** One row of the workflows table (and of the live feed). Times are epoch ms. */
export interface WorkflowSummary {
  workflowId: string;
  status: string;
  workflowName: string;
  queue: string | null;
  executorId: string | null;
  applicationVersion: string | null;
  recoveryAttempts: number;
  createdAt: number;
  updatedAt: number;
  /** From creation to the outcome; null while it runs. */
  durationMs: number | null;
  parentWorkflowId: string | null;
  forkedFrom: string | null;
  /** Its attributes (`start(..., { attributes })`), or null. */
  attributes: Record<string, string> | null;
}

export interface StepView {
  stepId: number;
  name: string;
  startedAt: number | null;
  completedAt: number | null;
  durationMs: number | null;
  output: unknown;
  error: Record<string, unknown> | null;
  childWorkflowId: string | null;
  /** The attempts of a retried step that failed before its outcome (and the last, when it failed). */
  failedAttempts: AttemptView[];
}

export interface AttemptView {
  attempt: number;
  startedAt: number;
  durationMs: number;
  error: Record<string, unknown> | string | null;
}

export function summaryOfInfo(info: WorkflowStatusInfo): WorkflowSummary {
  const createdAt = info.createdAt.getTime();
  const updatedAt = info.updatedAt.getTime();
  return {
    workflowId: info.workflowId,
    status: info.status,
    workflowName: info.workflowName,
    queue: info.queue ?? null,
    executorId: info.executorId,
    applicationVersion: info.applicationVersion,
    recoveryAttempts: info.recoveryAttempts,
    createdAt,
    updatedAt,
    durationMs: TERMINAL.has(info.status) ? updatedAt - createdAt : null,
    parentWorkflowId: info.parentWorkflowId ?? null,
    forkedFrom: info.forkedFrom ?? null,
    attributes: info.attributes ?? null,
  };
}

export function summaryOfRow(row: WorkflowStatusRow): WorkflowSummary {
  return {
    workflowId: row.workflowId,
    status: row.status,
    workflowName: row.workflowName,
    queue: row.queueName,
    executorId: row.executorId,
    applicationVersion: row.applicationVersion,
    recoveryAttempts: row.recoveryAttempts,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    durationMs: TERMINAL.has(row.status) ? row.updatedAt - row.createdAt : null,
    parentWorkflowId: row.parentWorkflowId,
    forkedFrom: row.forkedFrom,
    attributes: row.attributes ?? null,
  };
}

export function isTerminalStatus(status: string): boolean {
  return TERMINAL.has(status);
}

export function stepView(step: StepInfo, failedAttempts: AttemptView[] = []): StepView {
  const startedAt = step.startedAt?.getTime() ?? null;
  const completedAt = step.completedAt?.getTime() ?? null;
  return {
    stepId: step.stepId,
    name: step.name,
    startedAt,
    completedAt,
    durationMs: startedAt !== null && completedAt !== null ? completedAt - startedAt : null,
    output: plainValue(step.output),
    error: step.error ? plainError(step.error) : null,
    childWorkflowId: step.childWorkflowId ?? null,
    failedAttempts,
  };
}
