import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { ClassType, ForkOptions, LocalWorkflowRuntime, ResumeOptions } from '../client/workflow.client';
import type { WorkflowRegistration, WorkflowRegistry } from '../discovery/workflow.registry';
import { DbosNotFoundError } from '../errors/not-found.error';
import { DbosWorkflowCancelledError } from '../errors/workflow-cancelled.error';
import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import { deserializeError } from '../serialization/value.codec';
import type { NotificationListener } from '../system-database/notification.listener';
import type { AdminRepository } from '../system-database/admin.repository';
import type { ListingRepository } from '../system-database/listing.repository';
import type { RecoveryRepository } from '../system-database/recovery.repository';
import { checkWorkflowId } from '../workflow/workflow.limits';
import type { WorkflowEventsBus } from '../events/workflow-events.bus';
import { logCancels } from './cancel-log.util';
import type { ExecutorSettings } from './executor.settings';
import { DbosRunSuperseded } from './run-superseded.error';
import type { RunningWorkflows } from './running-workflows.table';
import type { WorkflowExecutor } from './workflow.executor';
import { INTERNAL_QUEUE, NOTICE_PREFIX } from '../system-database/system.names';

/**
 * The local runtime the WorkflowClient of a Nest app uses: starts by class and method, and
 * cancel, resume and fork, which change the database and then stop or launch the runs here.
 * It also hears status changes made by other processes (a remote cancel) once `listen()` ran.
 */
export class WorkflowControl implements LocalWorkflowRuntime {
  private readonly logger = new Logger(WorkflowControl.name);
  private listening = false;

  constructor(
    private readonly executor: WorkflowExecutor,
    private readonly runs: RunningWorkflows,
    private readonly registry: WorkflowRegistry,
    private readonly listing: ListingRepository,
    private readonly recovery: RecoveryRepository,
    private readonly admin: AdminRepository,
    private readonly settings: ExecutorSettings,
    private readonly events: WorkflowEventsBus,
  ) {}

  /** Subscribes to status changes: a remote cancel stops the local run (called once, at bootstrap). */
  listen(listener: NotificationListener): void {
    if (this.listening) return;
    this.listening = true;
    const check = (workflowIds: string[]) =>
      this.onStatusChanged(workflowIds).catch((err: Error) =>
        // Missed here, a cancellation still wins when the workflow records its outcome.
        this.logger.warn(`Could not check a status change: ${err.message}`),
      );
    listener.onAny((key) => {
      if (key.startsWith(NOTICE_PREFIX.status)) void check([key.slice(NOTICE_PREFIX.status.length)]);
    });
    // Cancellations sent while LISTEN was down were not heard: look at every local run.
    listener.onReconnect(() => void check(this.runs.ids()));
  }

  start(type: ClassType, methodName: string, args: unknown[], options: StartWorkflowOptions): Promise<string> {
    const registration = this.registry.getWorkflowOf(type, methodName);
    if (!registration) {
      throw new DbosNotFoundError(
        `${type.name}.${methodName} is not a registered workflow: decorate it with @Workflow() and make ${type.name} a provider of the app.`,
      );
    }
    return this.executor.startWorkflow(registration, args, options);
  }

  localResult(workflowId: string): Promise<unknown> | undefined {
    return this.executor.localResult(workflowId);
  }

  /**
   * Cancels workflows and their children, all at once (see AdminRepository.cancel); running steps
   * see `DbosContext.abortSignal` abort. Logged once per workflow given, with its descendants.
   */
  async cancel(workflowIds: string[]): Promise<void> {
    const cancelled = await this.runs.whileCancelling(workflowIds, async () => {
      const rows = await this.admin.cancel(workflowIds);
      for (const { workflowId } of rows) this.runs.abort(workflowId, new DbosWorkflowCancelledError(workflowId));
      return rows;
    });
    for (const { workflowId, workflowName, rootId } of cancelled) {
      const error = new DbosWorkflowCancelledError(workflowId);
      this.events.emit({
        type: 'cancelled',
        workflowId,
        workflowName,
        status: 'CANCELLED',
        error,
        cancelSource: 'here',
        ...(rootId !== workflowId ? { cancelledWith: rootId } : {}),
      });
    }
    logCancels(this.logger, cancelled, 'cancelled');
  }

  /** A status change made by another process: a local run of a cancelled workflow stops. */
  async onStatusChanged(workflowIds: string[]): Promise<void> {
    // The runs as they are now: a run started after the query began (a resume) is not the one cancelled.
    // A run writing its outcome hears its own change (or its finish finds the cancel): nothing to check.
    const runs = new Map(workflowIds.filter((id) => this.runs.isRunning(id) && !this.runs.isFinishing(id)).map((id) => [id, this.runs.get(id)!]));
    if (runs.size === 0) return;
    const owned = [...runs].map(([workflowId, run]) => ({ workflowId, epoch: run.state.epoch }));
    for (const lost of await this.recovery.lostRuns(owned, this.settings.executorId)) {
      const { state } = runs.get(lost.workflowId)!;
      // Stopped already, or being stopped, by a cancel or a timeout made here: reported where it happened.
      if (state.abort.signal.aborted || this.runs.isCancellingHere(lost.workflowId, lost.cancelRoot)) continue;
      if (lost.status !== 'CANCELLED') {
        // Another run owns it now (resumed, adopted).
        state.abort.abort(new DbosRunSuperseded(lost.workflowId));
        continue;
      }
      const reason = lost.error ? deserializeError(lost.error) : new DbosWorkflowCancelledError(lost.workflowId);
      state.abort.abort(reason);
      this.logger.log(`Workflow ${lost.workflowId} (${state.workflowName}): its run here stopped, cancelled by another process`);
      this.events.emit({
        type: 'cancelled',
        workflowId: lost.workflowId,
        workflowName: state.workflowName,
        status: 'CANCELLED',
        error: reason,
        cancelSource: 'remote',
      });
    }
  }

  /**
   * Continues a CANCELLED or failed workflow from its last completed step. It runs here when this
   * process has its code and version; else it is queued for an executor that has.
   */
  async resume(workflowId: string, options: ResumeOptions = {}): Promise<void> {
    const rows = await this.admin.reopen(
      workflowId,
      {
        executorId: this.settings.executorId,
        applicationVersion: this.settings.applicationVersion,
        runnableNames: this.runs.isAccepting ? this.registry.workflowNames() : [],
        fallbackQueue: INTERNAL_QUEUE,
      },
      options.applicationVersion ?? null,
    );
    // Empty: it is running or finished already (or a concurrent resume won).
    for (const row of rows) {
      // An old run of it still unwinding here stops at its next step; the new run starts once it is gone (see launch).
      this.runs.abort(row.workflowId, new DbosRunSuperseded(row.workflowId));
      const registration = this.registry.getWorkflow(row.workflowName);
      if (registration && row.status === 'PENDING') await this.executor.launchFromCheckpoints(registration, row);
    }
    if (rows.length > 0)
      this.logger.log(`Workflow ${workflowId} resumed${rows.length > 1 ? ` with ${rows.length - 1} descendant(s) its cancel had stopped` : ''}`);
  }

  /** A new workflow that reuses the checkpoints (and what they published) before `fromStep`, and runs the rest. */
  async fork(workflowId: string, options: ForkOptions): Promise<string> {
    const source = await this.listing.get(workflowId);
    if (!source) throw new DbosNotFoundError(`No workflow has the id "${workflowId}".`);
    const forkId = options.workflowId ?? randomUUID();
    checkWorkflowId(forkId);
    const version = options.applicationVersion ?? source.applicationVersion;
    const registration = this.runnableHere(source.workflowName, version);
    await this.admin.fork(
      workflowId,
      forkId,
      options.fromStep,
      registration ? { status: 'PENDING', executorId: this.settings.executorId } : { status: 'ENQUEUED', queueName: null },
      version,
    );
    const row = registration ? await this.listing.get(forkId) : null;
    if (registration && row) await this.executor.launchFromCheckpoints(registration, row);
    this.logger.log(`Workflow ${workflowId} forked from step ${options.fromStep} as ${forkId}`);
    return forkId;
  }

  /** The registration when this process can run a workflow of that name and version now. */
  private runnableHere(workflowName: string, applicationVersion: string | null): WorkflowRegistration | undefined {
    if (!this.runs.isAccepting || applicationVersion !== this.settings.applicationVersion) return undefined;
    return this.registry.getWorkflow(workflowName);
  }
}
