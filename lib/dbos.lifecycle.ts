import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DBOS_SYSTEM_DATABASE } from './dbos.constants';
import { DbosDatabase } from './dbos-database';
import { WorkflowExecutor } from './execution/workflow.executor';
import { QueueDispatcher } from './queues/queue.dispatcher';
import { RecoveryService } from './recovery/recovery.service';

/** Starts work once the app is up; stops taking work, then closes the pool, on shutdown. */
@Injectable()
export class DbosLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(DBOS_SYSTEM_DATABASE) private readonly database: DbosDatabase,
    private readonly executor: WorkflowExecutor,
    private readonly recovery: RecoveryService,
    private readonly dispatcher: QueueDispatcher,
  ) {}

  onApplicationBootstrap(): void {
    this.recovery.start();
    this.dispatcher.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.dispatcher.stop();
    await this.executor.shutdown();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
  }
}
