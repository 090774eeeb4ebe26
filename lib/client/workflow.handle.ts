import { setLongTimeout } from '../common/delay.util';
import { DbosNotFoundError } from '../errors/not-found.error';
import { DbosTimeoutError } from '../errors/timeout.error';
import { markWorkflowFailure, type WorkflowFailureStatus } from '../errors/workflow-failure.mark';
import type { WorkflowStatusInfo } from '../interfaces/workflow-status.interface';
import type { WorkflowStatusRow } from '../system-database/system.rows';
import type { NotificationListener } from '../system-database/notification.listener';
import type { ListingRepository } from '../system-database/listing.repository';
import type { ManagementReadsRepository } from '../system-database/management-reads.repository';
import { toStatusInfo } from '../workflow/status-info.mapper';
import { isTerminal, outcomeOf } from '../workflow/workflow.outcome';
import { statusKey } from '../system-database/system.names';

export interface GetStatusOptions {
  /** Include the workflow's input and output (default false: a status check reads no payloads). */
  loadPayloads?: boolean;
  /**
   * Read the status on the read replica (`database.readUrl`), for display: it may be behind the
   * primary, so never decide on it. Default false: the primary. Without a replica, no difference.
   */
  fromReplica?: boolean;
}

export interface GetResultOptions {
  /** Reject with DbosTimeoutError when the workflow has not finished by then. Default: wait. */
  timeoutMs?: number;
}

/** Where a handle finds results of workflows that run in the same process (no database wait). */
export interface LocalResults {
  localResult(workflowId: string): Promise<unknown> | undefined;
}

export interface HandleBackend {
  listing: ListingRepository;
  /** Where `getStatus({ fromReplica: true })` reads; the primary's `listing` without it. */
  reads?: Pick<ManagementReadsRepository, 'status'>;
  listener: NotificationListener;
  local?: LocalResults;
}

/** A started workflow: its id, its status, its result. */
export class WorkflowHandle<R = unknown> {
  constructor(
    readonly workflowId: string,
    protected readonly backend: HandleBackend,
  ) {}

  async getStatus(options: GetStatusOptions = {}): Promise<WorkflowStatusInfo | null> {
    const reads = options.fromReplica && this.backend.reads;
    const row = reads ? await reads.status(this.workflowId) : await this.backend.listing.get(this.workflowId);
    return row ? toStatusInfo(row, options.loadPayloads === true) : null;
  }

  /** The workflow's status, or DbosNotFoundError (404 with DbosExceptionFilter) when no workflow has the id. */
  async getStatusOrThrow(options: GetStatusOptions = {}): Promise<WorkflowStatusInfo> {
    const status = await this.getStatus(options);
    if (!status) throw notFound(this.workflowId);
    return status;
  }

  /**
   * The workflow's result, or its recorded error thrown (same class name and message), marked as a
   * workflow's failure: DbosExceptionFilter answers it 422 (ERROR) or 409 (CANCELLED).
   */
  async getResult(options: GetResultOptions = {}): Promise<R> {
    try {
      return await this.waitForResult(options);
    } catch (err) {
      throw await this.markedIfRecorded(err);
    }
  }

  /** The error as thrown, marked when the workflow's row says it ended that way (not a wait that ran out, not an outage). */
  private async markedIfRecorded(err: unknown): Promise<unknown> {
    if (err instanceof DbosNotFoundError) return err;
    const row = await this.backend.listing.get(this.workflowId).catch(() => null);
    const status = row?.status as WorkflowFailureStatus | undefined;
    if (status === 'ERROR' || status === 'CANCELLED' || status === 'MAX_RECOVERY_ATTEMPTS_EXCEEDED') {
      return markWorkflowFailure(err, { workflowId: this.workflowId, status });
    }
    return err;
  }

  private async waitForResult(options: GetResultOptions): Promise<R> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    const local = this.backend.local?.localResult(this.workflowId);
    if (local) return (await withDeadline(local, deadline, this.workflowId)) as R;
    let last: WorkflowStatusRow | undefined;
    let watching = false;
    const check = async (): Promise<{ row: WorkflowStatusRow } | { running: Promise<unknown> } | undefined> => {
      const row = await this.backend.listing.get(this.workflowId);
      if (!row) throw notFound(this.workflowId);
      last = row;
      if (isTerminal(row.status)) return { row };
      const running = this.backend.local?.localResult(this.workflowId);
      if (running) return { running };
      if (watching || this.backend.listener.isPollOnly) return undefined;
      // Runs elsewhere: ask for its outcome's notice, then read again (see ListingRepository.watchOutcomes).
      watching = true;
      await this.backend.listing.watchOutcomes([this.workflowId]);
      return check();
    };
    const found = await this.backend.listener.waitUntil([statusKey(this.workflowId)], check, deadline);
    if (!found) throw resultTimeout(this.workflowId, last?.status ?? 'PENDING');
    if ('running' in found) return (await withDeadline(found.running, deadline, this.workflowId)) as R;
    return outcomeOf(found.row) as R;
  }
}

function notFound(workflowId: string): DbosNotFoundError {
  return new DbosNotFoundError(`No workflow has the id "${workflowId}".`);
}

function resultTimeout(workflowId: string, status: string): DbosTimeoutError {
  return new DbosTimeoutError(workflowId, `no result within the wait given to getResult (still ${status}).`);
}

async function withDeadline<T>(promise: Promise<T>, deadline: number, workflowId: string): Promise<T> {
  if (deadline === Infinity) return promise;
  let cancel: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    cancel = setLongTimeout(() => reject(resultTimeout(workflowId, 'PENDING')), deadline - Date.now());
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    cancel?.();
  }
}
