import { Injectable } from '@nestjs/common';
import { WorkflowClient } from '../client/workflow.client';
import { DbosConflictError } from '../errors/conflict.error';
import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import type { WorkflowStatusInfo } from '../interfaces/workflow-status.interface';
import { deserialize, deserializeError } from '../serialization/value.codec';
import type { RelatedWorkflow } from '../system-database/dashboard.repository';
import { DashboardBackend } from './dashboard.backend';
import { parseListQuery, type ListQuery } from './list-query.parser';
import { plainError, plainValue } from './plain-value.util';
import { isTerminalStatus, stepView, summaryOfInfo, type AttemptView, type StepView, type WorkflowSummary } from './workflow-views';

export interface WorkflowListPage {
  workflows: WorkflowSummary[];
  nextCursor: string | null;
}

export interface WorkflowDetail {
  workflow: WorkflowSummary & {
    className: string | null;
    attributes: Record<string, string> | null;
    input: unknown;
    output: unknown;
    error: Record<string, unknown> | null;
  };
  steps: StepView[];
  events: { key: string; value: unknown }[];
  streams: { key: string; offset: number; value: unknown; closed: boolean }[];
  messages: { topic: string; message: unknown; createdAt: number }[];
  children: RelatedWorkflow[];
  forks: RelatedWorkflow[];
}

export interface ActionResult {
  workflowId: string;
  status: string;
  /** The new workflow of a fork. */
  forkId?: string;
  message: string;
}

const CANCELLABLE = ['ENQUEUED', 'PENDING'];
const RESUMABLE = ['CANCELLED', 'ERROR', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'];

/** The workflows pages of the dashboard: the list, one workflow, and the actions on it, over WorkflowClient. */
@Injectable()
export class DashboardWorkflowsService {
  constructor(
    private readonly client: WorkflowClient,
    private readonly backend: DashboardBackend,
  ) {}

  async list(query: ListQuery): Promise<WorkflowListPage> {
    const page = await this.client.listPage(parseListQuery(query));
    return { workflows: page.workflows.map(summaryOfInfo), nextCursor: page.nextCursor };
  }

  async detail(workflowId: string): Promise<WorkflowDetail> {
    // Display only: the status too is read where the list was (the replica with database.readUrl).
    const info = await this.require(workflowId, true, true);
    const reads = this.backend.reads;
    const [steps, attempts, events, streams, messages, relatives] = await Promise.all([
      this.backend.displayClient.listSteps(workflowId),
      reads.failedAttempts(workflowId),
      reads.events(workflowId),
      reads.streamEntries(workflowId),
      reads.unconsumedMessages(workflowId),
      reads.relatives(workflowId),
    ]);
    const attemptsByStep = new Map<number, AttemptView[]>();
    for (const a of attempts) {
      const view = { attempt: a.attempt, startedAt: a.startedAt, durationMs: a.endedAt - a.startedAt, error: storedError(a.error) };
      attemptsByStep.set(a.stepId, [...(attemptsByStep.get(a.stepId) ?? []), view]);
    }
    return {
      workflow: {
        ...summaryOfInfo(info),
        className: info.className ?? null,
        attributes: info.attributes ?? null,
        input: plainValue(info.input),
        output: plainValue(info.output),
        error: info.error ? plainError(info.error) : null,
      },
      steps: steps.map((step) => stepView(step, attemptsByStep.get(step.stepId))),
      events: events.map((e) => ({ key: e.key, value: stored(e.value) })),
      streams: streams.map((e) => ({ ...e, value: e.closed ? null : stored(e.value) })),
      messages: messages.map((m) => ({ topic: m.topic, message: stored(m.message), createdAt: m.createdAt })),
      ...relatives,
    };
  }

  async cancel(workflowId: string): Promise<ActionResult> {
    const info = await this.require(workflowId);
    if (!CANCELLABLE.includes(info.status)) {
      throw new DbosConflictError(`Workflow "${workflowId}" is ${info.status}: only ENQUEUED or PENDING workflows can be cancelled.`);
    }
    await this.client.cancel(workflowId);
    return this.result(workflowId, `Cancelled: it stops before its next step.`);
  }

  async resume(workflowId: string): Promise<ActionResult> {
    const info = await this.require(workflowId);
    if (!RESUMABLE.includes(info.status)) {
      throw new DbosConflictError(`Workflow "${workflowId}" is ${info.status}: only CANCELLED or failed workflows can be resumed.`);
    }
    await this.client.resume(workflowId);
    return this.result(workflowId, `Resumed from its last completed step.`);
  }

  async fork(workflowId: string, fromStep: unknown): Promise<ActionResult> {
    await this.require(workflowId);
    const steps = await this.backend.steps(workflowId);
    const last = steps.reduce((max, s) => Math.max(max, s.stepId), 0);
    if (typeof fromStep !== 'number' || !Number.isInteger(fromStep) || fromStep < 0 || fromStep > last + 1) {
      throw new DbosInvalidArgumentError(`fromStep must be a step number from 0 to ${last + 1}, not ${JSON.stringify(fromStep ?? null)}.`);
    }
    const handle = await this.client.fork(workflowId, { fromStep });
    const forked = await this.client.getStatus(handle.workflowId);
    return {
      workflowId,
      status: forked?.status ?? 'ENQUEUED',
      forkId: handle.workflowId,
      message: `Forked from step ${fromStep} as ${handle.workflowId}.`,
    };
  }

  /** Moves the unfinished workflows of `fromVersion` to this process's version; at most `limit` per call. */
  async moveToCurrentVersion(fromVersion: unknown, limit = 1000): Promise<{ moved: number; applicationVersion: string }> {
    if (fromVersion !== null && typeof fromVersion !== 'string') throw new DbosInvalidArgumentError('fromVersion must be a version string or null.');
    const current = this.backend.applicationVersion;
    if (fromVersion === current) throw new DbosConflictError(`Version "${current}" is already the current version.`);
    const ids = await this.backend.current.unfinishedOfVersion(fromVersion, limit);
    if (ids.length > 0) await this.client.resume(ids, { applicationVersion: current });
    return { moved: ids.length, applicationVersion: current };
  }

  private async require(workflowId: string, loadPayloads = false, fromReplica = false): Promise<WorkflowStatusInfo> {
    const info = await this.backend.displayClient.getStatus(workflowId, { loadPayloads, fromReplica });
    if (!info) throw new DbosNotFoundError(`No workflow has the id "${workflowId}".`);
    return info;
  }

  private async result(workflowId: string, message: string): Promise<ActionResult> {
    const info = await this.require(workflowId);
    return { workflowId, status: info.status, message: isTerminalStatus(info.status) ? `${message} Now ${info.status}.` : message };
  }
}

/** A stored error as the page shows it: its name, message and fields; `[encrypted]` (a string) without the key. */
function storedError(text: string | null): Record<string, unknown> | string | null {
  if (text === null) return null;
  try {
    return plainError(deserializeError(text));
  } catch {
    return text;
  }
}

/** A stored value for display; one that no longer deserializes is shown as its text. */
function stored(text: string | null): unknown {
  if (text === null) return null;
  try {
    return plainValue(deserialize(text));
  } catch {
    return text;
  }
}
