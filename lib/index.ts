export * from './dbos.module';
export * from './decorators';
export * from './errors';
export * from './interfaces';
export { DbosContext } from './context/dbos.context';
export * from './transactions';
export { WorkflowClient, type WorkflowStarter, type ClassType, type WorkflowClientConnectOptions, type StreamEvent } from './client/workflow.client';
export { WorkflowHandle, type GetResultOptions, type GetStatusOptions } from './client/workflow.handle';
export type { DebounceOptions, DebounceByNameOptions } from './debounce/debounce.options';
export { RecoveryService } from './recovery/recovery.service';
export { WorkflowReplayer, type ReplayOptions } from './evolution/workflow.replayer';
export { QueueRegistry } from './queues/queue.registry';
export { ScheduleClient } from './schedules/schedule.client';

export type { ResumeOptions, ForkOptions, SendOptions, DeleteWorkflowOptions } from './client/workflow.client';
export type { QueueStats } from './system-database/queue.repository';
export type { ResultsOf, WaitForHandlesOptions } from './fan-out/fan-out';
export { DBOS_MODULE_OPTIONS } from './dbos.constants';
export { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres/embedded-postgres.server';
export {
  DbosHealthIndicator,
  type DbosHealthResult,
  type DbosHealthDetails,
  type DbosLivenessResult,
  type DbosLivenessDetails,
} from './health/dbos.health-indicator';
export { DbosDatabaseUnavailableFilter } from './filters/database-unavailable.filter';
export { DbosExceptionFilter, httpStatusOfDbosError } from './filters/dbos-exception.filter';
export { DurableHandler } from './event-processing/durable-handler.decorator';
export type { DurableHandlerOptions } from './event-processing/durable-handler.options';
export { JetStreamServer, JETSTREAM_TRANSPORT, type JetStreamServerOptions } from './event-processing/jetstream.server';
export { JetStreamContext } from './event-processing/jetstream.context';
export { DbosDashboardModule, type DbosDashboardOptions } from './dashboard/dashboard.module';
