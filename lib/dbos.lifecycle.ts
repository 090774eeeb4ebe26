import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { settleWithin } from './common/settle-within.util';
import { DbosDatabase } from './dbos.database';
import { DBOS_EXECUTOR_SETTINGS, DBOS_RESOLVED_OPTIONS, DBOS_SYSTEM_DATABASE } from './dbos.constants';
import type { ResolvedDbosOptions } from './dbos.options';
import { ShutdownWatch } from './dbos.shutdown-watch';
import { VersionAdopter } from './evolution/version.adopter';
import type { ExecutorSettings } from './execution/executor.settings';
import { RunningWorkflows } from './execution/running-workflows.table';
import { WorkflowControl } from './execution/workflow.control';
import { WorkflowExecutor } from './execution/workflow.executor';
import { QueueDispatcher } from './queues/queue.dispatcher';
import { ExecutorMonitor } from './recovery/executor.monitor';
import { RecoveryRunner } from './recovery/recovery.runner';
import { WorkflowResumer } from './recovery/workflow.resumer';
import { RetentionTask } from './scheduler/retention.task';
import { WorkflowScheduler } from './scheduler/workflow.scheduler';
import { ScheduleRunner } from './scheduler/schedule.runner';

/** Unregistering the executor (a last write) gets this long past the shutdown timeout. */
const MONITOR_STOP_GRACE_MS = 1_000;

/**
 * The order of things: once the app is up, subscribe to notifications, heartbeat, recover,
 * dispatch queues, fire schedules; on shutdown stop taking work, wind down (bounded), then
 * close the connections.
 */
@Injectable()
export class DbosLifecycle implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly shutdownWatch: ShutdownWatch;

  constructor(
    @Inject(DBOS_SYSTEM_DATABASE) private readonly database: DbosDatabase,
    @Inject(DBOS_EXECUTOR_SETTINGS) private readonly settings: ExecutorSettings,
    private readonly runs: RunningWorkflows,
    private readonly executor: WorkflowExecutor,
    private readonly control: WorkflowControl,
    private readonly resumer: WorkflowResumer,
    private readonly recovery: RecoveryRunner,
    private readonly dispatcher: QueueDispatcher,
    private readonly monitor: ExecutorMonitor,
    private readonly scheduler: WorkflowScheduler,
    private readonly retention: RetentionTask,
    private readonly discovery: DiscoveryService,
    @Inject(DBOS_RESOLVED_OPTIONS) private readonly options: ResolvedDbosOptions,
    private readonly versions: VersionAdopter,
    private readonly schedules: ScheduleRunner,
  ) {
    this.shutdownWatch = new ShutdownWatch(() => runs.stopTakingWork());
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.startWork) return;
    this.shutdownWatch.watch(this.discovery);
    this.control.listen(this.database.listener);
    this.resumer.start();
    await this.monitor.start();
    this.recovery.start(Math.max(1_000, Math.floor(this.settings.executorLeaseMs / 2)));
    this.versions.start(Math.max(1_000, Math.floor(this.settings.executorLeaseMs / 2)));
    this.dispatcher.start();
    await this.scheduler.start();
    await this.schedules.start();
    this.retention.start();
  }

  /** Shutdown began (if the app's own hooks did not say so already): no new step, no failure recorded. */
  onModuleDestroy(): void {
    this.runs.stopTakingWork();
  }

  /**
   * Stops taking work (this also ends waits on the database), then lets the dispatcher, the sweep
   * and the running workflows wind down, all within `shutdownTimeoutMs`: a claim or heartbeat
   * stuck on a dead socket must not hold up a deploy.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.options.startWork) return;
    const deadline = Date.now() + this.settings.shutdownTimeoutMs;
    this.scheduler.stop();
    this.schedules.stop();
    this.retention.stop();
    const draining = this.executor.shutdown();
    await settleWithin(deadline, Promise.all([this.dispatcher.stop(), this.recovery.stop(), this.versions.stop()]));
    await settleWithin(deadline, draining);
    await settleWithin(deadline + MONITOR_STOP_GRACE_MS, this.monitor.stop());
  }

  async onApplicationShutdown(): Promise<void> {
    this.shutdownWatch.unwatch();
    await this.database.close();
  }
}
