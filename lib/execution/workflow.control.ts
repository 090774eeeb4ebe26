import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { awaitingOther, type WorkflowClock } from '../common/clock';
import type { ClassType, ForkOptions, LocalWorkflowRuntime, ResumeOptions } from '../client/workflow.client';
import type { WorkflowRegistration, WorkflowRegistry } from '../discovery/workflow.registry';
import { WorkflowHandle, type HandleBackend } from '../client/workflow.handle';
import { DbosNotFoundError } from '../errors/not-found.error';
import { DbosWorkflowCancelledError } from '../errors/workflow-cancelled.error';
import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import { deserializeError } from '../serialization/value.codec';
import type { NotificationListener } from '../system-database/notification.listener';
import type { AdminRepository } from '../system-database/admin.repository';
import type { ListingRepository } from '../system-database/listing.repository';
import type { RecoveryRepository } from '../system-database/recovery.repository';
import type { NewWorkflowRow } from '../system-database/run-lifecycle.repository';
import { INTERNAL_QUEUE, NOTICE_PREFIX } from '../system-database/system.names';
import { checkWorkflowId } from '../workflow/workflow.limits';
import type { WorkflowEventsBus } from '../events/workflow-events.bus';
import type { ExecutorSettings } from './executor.settings';
import { DbosRunSuperseded } from './run-superseded.error';
import type { RunningWorkflows } from './running-workflows.table';
import type { WorkflowCanceller } from './workflow.canceller';
import type { WorkflowExecutor } from './workflow.executor';
import { workflowLabel } from '../observability/log-label';
import { currentTraceContext } from '../observability/trace-context';
import type { DebounceOptions, DebounceTarget } from '../debounce/debounce.options';

export interface WorkflowControlDependencies {
  executor: WorkflowExecutor;
  runs: RunningWorkflows;
  registry: WorkflowRegistry;
  listing: ListingRepository;
  recovery: RecoveryRepository;
  admin: AdminRepository;
  listener: NotificationListener;
  settings: ExecutorSettings;
  events: WorkflowEventsBus;
  canceller: WorkflowCanceller;
  /** A caller awaiting a local run is blocked on another workflow (see WorkflowClock.wait). */
  clock: WorkflowClock;
}

/**
 * The local runtime the WorkflowClient of a Nest app uses: starts by class and method, and
 * cancel, resume and fork, which change the database and then stop or launch the runs here.
 * It also hears status changes made by other processes (a remote cancel) once `listen()` ran.
 */
export class WorkflowControl implements LocalWorkflowRuntime {
  private readonly logger = new Logger(WorkflowControl.name);
  private listening = false;
  private readonly executor: WorkflowExecutor;
  private readonly runs: RunningWorkflows;
  private readonly registry: WorkflowRegistry;
  private readonly listing: ListingRepository;
  private readonly recovery: RecoveryRepository;
  private readonly admin: AdminRepository;
  private readonly settings: ExecutorSettings;
  private readonly events: WorkflowEventsBus;
  /** What the handles of this process read through: local results come from here. */
  readonly handles: HandleBackend;

  constructor(private readonly deps: WorkflowControlDependencies) {
    this.handles = { listing: deps.listing, listener: deps.listener, local: this };
    this.executor = deps.executor;
    this.runs = deps.runs;
    this.registry = deps.registry;
    this.listing = deps.listing;
    this.recovery = deps.recovery;
    this.admin = deps.admin;
    this.settings = deps.settings;
    this.events = deps.events;
  }

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
    // Without LISTEN (behind a transaction pooler, or while it is lost), looked for at every poll.
    listener.onPoll(() => void check(this.runs.ids()));
  }

  start(type: ClassType, methodName: string, args: unknown[], options: StartWorkflowOptions): Promise<string> {
    return this.executor.startWorkflow(this.registrationOf(type, methodName), args, options);
  }

  debounceTarget(type: ClassType, methodName: string, options: DebounceOptions): DebounceTarget {
    const registration = this.registrationOf(type, methodName);
    this.executor.checkQueued(onOwnQueue(options));
    return {
      workflowName: registration.name,
      className: registration.className,
      applicationVersion: this.settings.applicationVersion,
      timeoutMs: registration.options.timeoutMs,
      now: this.deps.clock.now(),
      maxPayloadBytes: this.settings.maxPayloadBytes,
    };
  }

  /** The row of a start the client writes in the app's transaction: ENQUEUED (on the internal queue without `queue`), run once committed. */
  queuedRow(type: ClassType, methodName: string, args: unknown[], options: StartWorkflowOptions): NewWorkflowRow {
    return this.executor.queuedRow(this.registrationOf(type, methodName), args, onOwnQueue(options));
  }

  private registrationOf(type: ClassType, methodName: string): WorkflowRegistration {
    const registration = this.registry.getWorkflowOf(type, methodName);
    if (!registration) {
      throw new DbosNotFoundError(
        `${type.name}.${methodName} is not a registered workflow: decorate it with @Workflow() and make ${type.name} a provider of the app.`,
      );
    }
    return registration;
  }

  /** A handle whose result comes from the local run while there is one (see localResult). */
  handle<R>(workflowId: string): WorkflowHandle<R> {
    return new WorkflowHandle<R>(workflowId, this.handles);
  }

  /**
   * The result of a workflow running in this process, or undefined when it does not run here.
   * A run that ends without an outcome because it was superseded (resumed or adopted elsewhere)
   * hands over to a handle: the awaiter gets the outcome of the run that owns it now.
   */
  localResult(workflowId: string): Promise<unknown> | undefined {
    const local = this.runs.get(workflowId)?.result.catch((err: unknown) => {
      if (err instanceof DbosRunSuperseded) return this.handle(workflowId).getResult();
      throw err;
    });
    return local && awaitingOther(this.deps.clock, local);
  }

  /**
   * Cancels workflows and their children, all at once (see AdminRepository.cancel); running steps
   * see `DbosContext.abortSignal` abort. Logged once per workflow given, with its descendants.
   */
  cancel(workflowIds: string[]): Promise<void> {
    return this.deps.canceller.cancel(workflowIds, this.logger);
  }

  /** A status change made by another process: a local run of a cancelled workflow stops. */
  async onStatusChanged(workflowIds: string[]): Promise<void> {
    // The runs as they are now: a run started after the query began (a resume) is not the one cancelled.
    // A run writing its outcome hears its own change (or its finish finds the cancel): nothing to check.
    const runs = new Map(
      workflowIds.flatMap((id) => {
        const run = this.runs.get(id);
        return run && !run.isFinishing ? [[id, run] as const] : [];
      }),
    );
    if (runs.size === 0) return;
    const owned = [...runs].map(([workflowId, run]) => ({ workflowId, epoch: run.epoch }));
    for (const lost of await this.recovery.lostRuns(owned, this.settings.executorId)) {
      const run = runs.get(lost.workflowId)!;
      // Stopped already, or being stopped, by a cancel or a timeout made here: reported where it happened.
      if (run.isStopped || this.runs.isCancellingHere(lost.workflowId, lost.cancelRoot)) continue;
      if (lost.status !== 'CANCELLED') {
        // Another run owns it now (resumed, adopted), or it was deleted: this run writes nothing more.
        run.stop(new DbosRunSuperseded(lost.workflowId));
        continue;
      }
      const reason = lost.error ? deserializeError(lost.error) : new DbosWorkflowCancelledError(lost.workflowId);
      run.stop(reason);
      this.logger.log(`${workflowLabel(lost.workflowId)} (${run.workflowName}): its run here stopped, cancelled by another process`);
      this.events.emit({
        type: 'cancelled',
        workflowId: lost.workflowId,
        workflowName: run.workflowName,
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
      this.logger.log(`${workflowLabel(workflowId)} resumed${rows.length > 1 ? ` with ${rows.length - 1} descendant(s) its cancel had stopped` : ''}`);
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
      currentTraceContext(),
    );
    const row = registration ? await this.listing.get(forkId) : null;
    if (registration && row) await this.executor.launchFromCheckpoints(registration, row);
    this.logger.log(`${workflowLabel(workflowId)} forked from step ${options.fromStep} as ${forkId}`);
    return forkId;
  }

  /** The registration when this process can run a workflow of that name and version now. */
  private runnableHere(workflowName: string, applicationVersion: string | null): WorkflowRegistration | undefined {
    if (!this.runs.isAccepting || applicationVersion !== this.settings.applicationVersion) return undefined;
    return this.registry.getWorkflow(workflowName);
  }
}

/** A start the caller writes itself goes through a queue: the one given, else the internal one. */
function onOwnQueue<O extends { queue?: string }>(options: O): O & { queue: string } {
  return { ...options, queue: options.queue ?? INTERNAL_QUEUE };
}
