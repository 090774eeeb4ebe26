import type { Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { WorkflowClient } from './client/workflow.client';
import { DbosContext } from './context/dbos.context';
import { DbosDatabase } from './dbos.database';
import { executorSettingsOf, resolveDbosOptions, type ResolvedDbosOptions } from './dbos.options';
import { DBOS_EXECUTOR_SETTINGS, DBOS_MODULE_OPTIONS, DBOS_RESOLVED_OPTIONS, DBOS_SYSTEM_DATABASE } from './dbos.constants';
import { DbosLifecycle } from './dbos.lifecycle';
import { DbosMetadataAccessor } from './discovery/dbos-metadata.accessor';
import { DbosExplorer } from './discovery/dbos.explorer';
import { DurableHandlerExplorer } from './event-processing/durable-handler.explorer';
import { WorkflowRegistry } from './discovery/workflow.registry';
import type { ExecutorSettings } from './execution/executor.settings';
import { WorkflowEventsBus } from './events/workflow-events.bus';
import { LeaseGate } from './execution/lease.gate';
import { RunningWorkflows } from './execution/running-workflows.table';
import { StepRunner } from './execution/step.runner';
import { WorkflowOperations } from './execution/workflow.operations';
import { WorkflowControl } from './execution/workflow.control';
import { WorkflowExecutor } from './execution/workflow.executor';
import { DbosHealthIndicator } from './health/dbos.health-indicator';
import type { DbosModuleOptions } from './interfaces/dbos-module-options.interface';
import { QueueDispatcher } from './queues/queue.dispatcher';
import { QueueRegistry } from './queues/queue.registry';
import { VersionAdopter } from './evolution/version.adopter';
import { WorkflowReplayer } from './evolution/workflow.replayer';
import { VersionAdoptionRepository } from './system-database/version-adoption.repository';
import { ExecutorMonitor } from './recovery/executor.monitor';
import { RecoveryService } from './recovery/recovery.service';
import { WorkflowResumer } from './recovery/workflow.resumer';
import { RetentionTask } from './scheduler/retention.task';
import { WorkflowScheduler } from './scheduler/workflow.scheduler';
import { DedicatedConnection } from './system-database/dedicated.connection';

/**
 * How the parts are wired, in one place: each provider is made from what it needs, and nothing
 * is connected after construction except by the start steps DbosLifecycle calls at bootstrap.
 */
export function createDbosProviders(): Provider[] {
  return [
    { provide: DBOS_RESOLVED_OPTIONS, useFactory: (options: DbosModuleOptions) => resolveDbosOptions(options), inject: [DBOS_MODULE_OPTIONS] },
    { provide: DBOS_SYSTEM_DATABASE, useFactory: (options: ResolvedDbosOptions) => DbosDatabase.open(options), inject: [DBOS_RESOLVED_OPTIONS] },
    { provide: DBOS_EXECUTOR_SETTINGS, useFactory: executorSettingsOf, inject: [DBOS_RESOLVED_OPTIONS] },
    { provide: WorkflowRegistry, useFactory: () => new WorkflowRegistry() },
    { provide: QueueRegistry, useFactory: (options: ResolvedDbosOptions) => new QueueRegistry(options.queues), inject: [DBOS_RESOLVED_OPTIONS] },
    { provide: RunningWorkflows, useFactory: () => new RunningWorkflows() },
    { provide: WorkflowEventsBus, useFactory: (settings: ExecutorSettings) => new WorkflowEventsBus(settings.executorId), inject: [DBOS_EXECUTOR_SETTINGS] },
    {
      provide: LeaseGate,
      useFactory: (database: DbosDatabase, settings: ExecutorSettings, runs: RunningWorkflows) =>
        new LeaseGate(database.repositories.statuses, settings, runs.stopSignal),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, RunningWorkflows],
    },
    {
      provide: StepRunner,
      useFactory: (database: DbosDatabase, settings: ExecutorSettings, runs: RunningWorkflows, gate: LeaseGate) =>
        new StepRunner(
          database.repositories.checkpoints,
          database.system,
          database.transactionDataSource,
          runs.stopSignal,
          settings,
          gate,
          database.ownTransactionDataSource !== undefined,
        ),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, RunningWorkflows, LeaseGate],
    },
    {
      provide: WorkflowExecutor,
      useFactory: (
        database: DbosDatabase,
        settings: ExecutorSettings,
        queueRegistry: QueueRegistry,
        runs: RunningWorkflows,
        gate: LeaseGate,
        steps: StepRunner,
        events: WorkflowEventsBus,
      ) => {
        const { statuses, checkpoints, queues } = database.repositories;
        const deps = { system: database.system, statuses, checkpoints, queues, queueRegistry, runs, gate, steps, events };
        return new WorkflowExecutor({ ...deps, handles: { statuses, listener: database.listener } }, settings);
      },
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, QueueRegistry, RunningWorkflows, LeaseGate, StepRunner, WorkflowEventsBus],
    },
    {
      provide: WorkflowControl,
      useFactory: (
        database: DbosDatabase,
        settings: ExecutorSettings,
        executor: WorkflowExecutor,
        runs: RunningWorkflows,
        registry: WorkflowRegistry,
        events: WorkflowEventsBus,
      ) => new WorkflowControl(executor, runs, registry, database.repositories.statuses, database.repositories.admin, settings, events),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, WorkflowExecutor, RunningWorkflows, WorkflowRegistry, WorkflowEventsBus],
    },
    {
      provide: WorkflowResumer,
      useFactory: (database: DbosDatabase, settings: ExecutorSettings, executor: WorkflowExecutor, runs: RunningWorkflows, events: WorkflowEventsBus) =>
        new WorkflowResumer(executor, runs, database.repositories.statuses, settings, database.repositories.checkpoints, events),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, WorkflowExecutor, RunningWorkflows, WorkflowEventsBus],
    },
    {
      provide: QueueDispatcher,
      useFactory: (database: DbosDatabase, executor: WorkflowExecutor, runs: RunningWorkflows, registry: WorkflowRegistry, queues: QueueRegistry) =>
        new QueueDispatcher(database.repositories.queues, executor, runs, registry, queues, database.listener),
      inject: [DBOS_SYSTEM_DATABASE, WorkflowExecutor, RunningWorkflows, WorkflowRegistry, QueueRegistry],
    },
    {
      provide: RecoveryService,
      useFactory: (database: DbosDatabase, settings: ExecutorSettings, registry: WorkflowRegistry, resumer: WorkflowResumer, runs: RunningWorkflows) =>
        new RecoveryService(database.repositories.statuses, registry, resumer, runs, settings),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, WorkflowRegistry, WorkflowResumer, RunningWorkflows],
    },
    {
      provide: ExecutorMonitor,
      useFactory: (
        database: DbosDatabase,
        settings: ExecutorSettings,
        runs: RunningWorkflows,
        gate: LeaseGate,
        resumer: WorkflowResumer,
        registry: WorkflowRegistry,
      ) => {
        // Heartbeats go over a connection of their own: a pool whose every connection is held must not stop them.
        const heartbeats = new DedicatedConnection(
          database.system.connectionConfig('heartbeat'),
          database.system.target,
          Math.max(1_000, Math.floor(settings.executorLeaseMs / 3)),
        );
        return new ExecutorMonitor(database.repositories.executors, runs, gate, resumer, registry, settings, heartbeats);
      },
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, RunningWorkflows, LeaseGate, WorkflowResumer, WorkflowRegistry],
    },
    {
      provide: WorkflowScheduler,
      useFactory: (database: DbosDatabase, registry: WorkflowRegistry, executor: WorkflowExecutor) =>
        new WorkflowScheduler(registry, executor, database.repositories.scheduler),
      inject: [DBOS_SYSTEM_DATABASE, WorkflowRegistry, WorkflowExecutor],
    },
    {
      provide: RetentionTask,
      useFactory: (database: DbosDatabase, options: ResolvedDbosOptions) => new RetentionTask(database.repositories.admin, options.retention),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_RESOLVED_OPTIONS],
    },
    {
      provide: WorkflowClient,
      useFactory: (database: DbosDatabase, control: WorkflowControl) =>
        new WorkflowClient({ ...database.repositories, listener: database.listener, local: control }),
      inject: [DBOS_SYSTEM_DATABASE, WorkflowControl],
    },
    {
      provide: DbosHealthIndicator,
      useFactory: (database: DbosDatabase, recovery: RecoveryService, moduleRef: ModuleRef) =>
        new DbosHealthIndicator(database.system, database.listener, recovery, moduleRef),
      inject: [DBOS_SYSTEM_DATABASE, RecoveryService, ModuleRef],
    },
    {
      provide: WorkflowOperations,
      useFactory: (database: DbosDatabase, executor: WorkflowExecutor, gate: LeaseGate, registry: WorkflowRegistry) =>
        new WorkflowOperations(executor, gate, registry, database.repositories.communication, database.listener),
      inject: [DBOS_SYSTEM_DATABASE, WorkflowExecutor, LeaseGate, WorkflowRegistry],
    },
    {
      provide: WorkflowReplayer,
      useFactory: (database: DbosDatabase, registry: WorkflowRegistry) =>
        new WorkflowReplayer(registry, database.repositories.statuses, database.repositories.checkpoints),
      inject: [DBOS_SYSTEM_DATABASE, WorkflowRegistry],
    },
    {
      provide: VersionAdopter,
      useFactory: (
        database: DbosDatabase,
        options: ResolvedDbosOptions,
        settings: ExecutorSettings,
        replayer: WorkflowReplayer,
        resumer: WorkflowResumer,
        registry: WorkflowRegistry,
        runs: RunningWorkflows,
      ) =>
        new VersionAdopter(
          new VersionAdoptionRepository(database.system),
          database.repositories.checkpoints,
          replayer,
          resumer,
          registry,
          runs,
          settings,
          options.applicationVersion === undefined,
        ),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_RESOLVED_OPTIONS, DBOS_EXECUTOR_SETTINGS, WorkflowReplayer, WorkflowResumer, WorkflowRegistry, RunningWorkflows],
    },
    { provide: DbosContext, useFactory: (operations: WorkflowOperations) => new DbosContext(operations), inject: [WorkflowOperations] },
    DbosMetadataAccessor,
    DurableHandlerExplorer,
    DbosExplorer,
    DbosLifecycle,
  ];
}

/** What the module gives the app: the public API only. */
export const DBOS_EXPORTS = [WorkflowClient, DbosContext, QueueRegistry, QueueDispatcher, RecoveryService, DbosHealthIndicator, WorkflowReplayer];
