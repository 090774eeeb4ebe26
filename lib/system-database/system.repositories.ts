import { AdminRepository } from './admin.repository';
import type { WorkflowClock } from '../common/clock';
import { CheckpointRepository } from './checkpoint.repository';
import { CommunicationRepository } from './communication.repository';
import { ExecutorRepository } from './executor.repository';
import { ListingRepository } from './listing.repository';
import { ManagementReadsRepository } from './management-reads.repository';
import { NotificationListener, type ListenerLogger } from './notification.listener';
import { QueueRepository } from './queue.repository';
import { RecoveryRepository } from './recovery.repository';
import { RunLifecycleRepository } from './run-lifecycle.repository';
import { ScheduleRepository } from './schedule.repository';
import { SchedulerRepository } from './scheduler.repository';
import { StepAttemptsRepository } from './step-attempts.repository';
import { TableStatistics } from './table-statistics';
import { notificationChannel } from './schema-name.util';
import type { SystemDatabase } from './system.database';
import { WorkflowEditRepository } from './workflow-edit.repository';

/** Every repository of the system tables, over one system database, each named by what uses it. */
export interface SystemRepositories {
  /** Inserts, outcomes and status moves of runs (the executor, the client's enqueue). */
  lifecycle: RunLifecycleRepository;
  /** Status rows by id and the filtered list, on the primary (everyone who decides on a status). */
  listing: ListingRepository;
  /** Lists, step lists and queue stats for management and display, on the read replica when `database.readUrl` is set. */
  reads: ManagementReadsRepository;
  /** Claims of PENDING runs and run ownership (recovery, the lease gate). */
  recovery: RecoveryRepository;
  /** Cancel, resume, fork, versions and retention (the control, the client, the CLI). */
  admin: AdminRepository;
  /** Priority, delay and deletion of one workflow by id (the client's management calls, the CLI). */
  edits: WorkflowEditRepository;
  checkpoints: CheckpointRepository;
  /** The failed attempts of retried steps (the step runner writes them, the dashboard reads them). */
  attempts: StepAttemptsRepository;
  communication: CommunicationRepository;
  queues: QueueRepository;
  scheduler: SchedulerRepository;
  /** Runtime schedules and every schedule's tick decisions (overlap policies). */
  schedules: ScheduleRepository;
  executors: ExecutorRepository;
  /** Planner statistics of the system tables, refreshed while they grow fast (the lifecycle's inserts report their rows). */
  statistics: TableStatistics;
}

/** The repositories, built once for the Nest module and for `WorkflowClient.connect` alike. */
export function createRepositories(system: SystemDatabase, clock?: WorkflowClock): SystemRepositories {
  const listing = new ListingRepository(system, system.payloads);
  const checkpoints = new CheckpointRepository(system);
  const communication = new CommunicationRepository(system);
  const admin = new AdminRepository(system, listing, checkpoints, communication);
  const statistics = new TableStatistics(system);
  return {
    lifecycle: new RunLifecycleRepository(system, listing, statistics),
    listing,
    reads: new ManagementReadsRepository(system.reads, system.payloads),
    recovery: new RecoveryRepository(system),
    admin,
    edits: new WorkflowEditRepository(system, clock),
    checkpoints,
    attempts: new StepAttemptsRepository(system),
    communication,
    queues: new QueueRepository(system, clock),
    scheduler: new SchedulerRepository(system),
    schedules: new ScheduleRepository(system, admin),
    executors: new ExecutorRepository(system),
    statistics,
  };
}

/** The LISTEN connection of the system schema's notification channel (not started); none, polling, behind a transaction pooler without listenUrl. */
export function createListener(system: SystemDatabase, logger: ListenerLogger, clock?: WorkflowClock): NotificationListener {
  return new NotificationListener(system.listenConnectionConfig(), notificationChannel(system.schema), logger, clock, system.pollIntervalMs);
}
