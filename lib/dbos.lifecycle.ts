import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { DbosDatabase } from './dbos-database';
import { DBOS_RESOLVED_OPTIONS, type ResolvedDbosOptions } from './dbos-options';
import { DBOS_SYSTEM_DATABASE } from './dbos.constants';
import { ShutdownWatch } from './dbos.shutdown-watch';
import { settleWithin } from './common/settle-within';
import { WorkflowExecutor } from './execution/workflow.executor';
import { QueueDispatcher } from './queues/queue.dispatcher';
import { ExecutorMonitor } from './recovery/executor.monitor';
import { RecoveryService } from './recovery/recovery.service';
import { RetentionTask } from './scheduler/retention.task';
import { DedicatedConnection } from './system-database/dedicated.connection';
import { WorkflowScheduler } from './scheduler/workflow.scheduler';

/** Unregistering the executor (a last write) gets this long past the shutdown timeout. */
const MONITOR_STOP_GRACE_MS = 1_000;

/** Starts work once the app is up; stops taking work, then closes the pool, on shutdown. */
@Injectable()
export class DbosLifecycle implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly scheduler: WorkflowScheduler;
  private readonly retention?: RetentionTask;
  private readonly monitor: ExecutorMonitor;
  private readonly leaseMs: number;
  private readonly shutdownTimeoutMs: number;
  private readonly shutdownWatch: ShutdownWatch;

  constructor(
    @Inject(DBOS_SYSTEM_DATABASE) private readonly database: DbosDatabase,
    @Inject(DBOS_RESOLVED_OPTIONS) options: ResolvedDbosOptions,
    private readonly executor: WorkflowExecutor,
    private readonly recovery: RecoveryService,
    private readonly dispatcher: QueueDispatcher,
    private readonly discovery: DiscoveryService,
  ) {
    this.shutdownWatch = new ShutdownWatch(() => executor.stopTakingWork());
    this.scheduler = new WorkflowScheduler(recovery.registry, executor, database.scheduler);
    if (options.retention) this.retention = new RetentionTask(database.statuses, options.retention);
    const leaseMs = (this.leaseMs = options.recovery.executorLeaseMs);
    this.shutdownTimeoutMs = options.shutdownTimeoutMs;
    const heartbeats = new DedicatedConnection(database.system.connectionConfig(), database.system.target, Math.max(1_000, Math.floor(leaseMs / 3)));
    this.monitor = new ExecutorMonitor(database.executors, executor, recovery.registry, leaseMs, heartbeats);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.shutdownWatch.watch(this.discovery);
    await this.monitor.start();
    this.recovery.start(Math.max(1_000, Math.floor(this.leaseMs / 2)));
    this.dispatcher.start();
    await this.scheduler.start();
    this.retention?.start();
  }

  /** Shutdown began (if the app's own hooks or a signal did not say so already): no new step, no failure recorded. */
  onModuleDestroy(): void {
    this.executor.stopTakingWork();
  }

  /**
   * Stops taking work (this also ends waits on the database), then lets the dispatcher, the sweep
   * and the running workflows wind down, all within `shutdownTimeoutMs`: a claim or heartbeat
   * stuck on a dead socket must not hold up a deploy.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const deadline = Date.now() + this.shutdownTimeoutMs;
    this.scheduler.stop();
    this.retention?.stop();
    const draining = this.executor.shutdown();
    await settleWithin(deadline, Promise.all([this.dispatcher.stop(), this.recovery.stop()]));
    await settleWithin(deadline, draining);
    await settleWithin(deadline + MONITOR_STOP_GRACE_MS, this.monitor.stop());
  }

  async onApplicationShutdown(): Promise<void> {
    this.shutdownWatch.unwatch();
    await this.database.close();
  }
}
