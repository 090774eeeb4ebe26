import { CheckpointRepository } from './checkpoint.repository';
import { CommunicationRepository } from './communication.repository';
import { ExecutorRepository } from './executor.repository';
import { NotificationListener, type ListenerLogger } from './notification.listener';
import { QueueRepository } from './queue.repository';
import { SchedulerRepository } from './scheduler.repository';
import { notificationChannel } from './schema-name.util';
import type { SystemDatabase } from './system.database';
import { WorkflowAdmin } from './workflow.admin';
import { WorkflowStatusRepository } from './workflow-status.repository';

/** Every repository of the system tables, over one system database. */
export interface SystemRepositories {
  statuses: WorkflowStatusRepository;
  checkpoints: CheckpointRepository;
  communication: CommunicationRepository;
  admin: WorkflowAdmin;
  queues: QueueRepository;
  scheduler: SchedulerRepository;
  executors: ExecutorRepository;
}

/** The repositories, built once for the Nest module and for `WorkflowClient.connect` alike. */
export function createRepositories(system: SystemDatabase): SystemRepositories {
  const statuses = new WorkflowStatusRepository(system);
  const checkpoints = new CheckpointRepository(system);
  const communication = new CommunicationRepository(system);
  return {
    statuses,
    checkpoints,
    communication,
    admin: new WorkflowAdmin(system, statuses, checkpoints, communication),
    queues: new QueueRepository(system),
    scheduler: new SchedulerRepository(system),
    executors: new ExecutorRepository(system),
  };
}

/** The LISTEN connection of the system schema's notification channel (not started). */
export function createListener(system: SystemDatabase, logger: ListenerLogger): NotificationListener {
  return new NotificationListener(system.connectionConfig('listen'), notificationChannel(system.schema), logger);
}
