import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DbosDatabase } from './dbos-database';
import { DBOS_RESOLVED_OPTIONS, type ResolvedDbosOptions } from './dbos-options';
import { DBOS_SYSTEM_DATABASE } from './dbos.constants';
import { WorkflowExecutor } from './execution/workflow.executor';
import { QueueDispatcher } from './queues/queue.dispatcher';
import { ExecutorMonitor } from './recovery/executor.monitor';
import { RecoveryService } from './recovery/recovery.service';
import { RetentionTask } from './scheduler/retention.task';
import { WorkflowScheduler } from './scheduler/workflow.scheduler';

/** Starts work once the app is up; stops taking work, then closes the pool, on shutdown. */
@Injectable()
export class DbosLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly scheduler: WorkflowScheduler;
  private readonly retention?: RetentionTask;
  private readonly monitor: ExecutorMonitor;

  constructor(
    @Inject(DBOS_SYSTEM_DATABASE) private readonly database: DbosDatabase,
    @Inject(DBOS_RESOLVED_OPTIONS) options: ResolvedDbosOptions,
    private readonly executor: WorkflowExecutor,
    private readonly recovery: RecoveryService,
    private readonly dispatcher: QueueDispatcher,
  ) {
    this.scheduler = new WorkflowScheduler(recovery.registry, executor, database.scheduler);
    if (options.retention) this.retention = new RetentionTask(database.statuses, options.retention);
    this.monitor = new ExecutorMonitor(database.executors, executor, recovery.registry, options.recovery.executorLeaseMs);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.monitor.start();
    this.recovery.start();
    this.dispatcher.start();
    await this.scheduler.start();
    this.retention?.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.scheduler.stop();
    this.retention?.stop();
    // Stop taking work first (this also ends waits on the database), then let the dispatcher and
    // the running workflows wind down.
    const draining = this.executor.shutdown();
    await this.dispatcher.stop();
    await draining;
    await this.monitor.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
  }
}
