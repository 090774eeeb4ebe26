import { Logger, type Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { WorkflowClient } from './client/workflow.client';
import { DbosContext } from './context/dbos.context';
import { DbosDatabase } from './dbos.database';
import { realClock, type WorkflowClock } from './common/clock';
import { executorSettingsOf, resolveDbosOptions, type ResolvedDbosOptions } from './dbos.options';
import { DBOS_EXECUTOR_SETTINGS, DBOS_MODULE_OPTIONS, DBOS_RESOLVED_OPTIONS, DBOS_SYSTEM_DATABASE, DBOS_CLOCK } from './dbos.constants';
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
import { TransactionRunner } from './execution/transaction.runner';
import { WorkflowCanceller } from './execution/workflow.canceller';
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
import { RecoveryRunner } from './recovery/recovery.runner';
import { RecoveryService } from './recovery/recovery.service';
import { WorkflowResumer } from './recovery/workflow.resumer';
import { RetentionTask } from './scheduler/retention.task';
import { WorkflowScheduler } from './scheduler/workflow.scheduler';
import { ScheduleRunner } from './scheduler/schedule.runner';
import { ScheduleClient } from './schedules/schedule.client';
import { TickStarter } from './schedules/tick.starter';
import { DedicatedConnection } from './system-database/dedicated.connection';

/**
 * How the parts are wired, in one place: each provider is made from what it needs, and nothing
 * is connected after construction except by the start steps DbosLifecycle calls at bootstrap.
 */
export function createDbosProviders(): Provider[] {
  return [
    { provide: DBOS_RESOLVED_OPTIONS, useFactory: (options: DbosModuleOptions) => resolveDbosOptions(options), inject: [DBOS_MODULE_OPTIONS] },
    // Workflow time, one object for every part that reads it (DbosTestingModule replaces it).
    { provide: DBOS_CLOCK, useValue: realClock },
    {
      provide: DBOS_SYSTEM_DATABASE,
      useFactory: (options: ResolvedDbosOptions, clock: WorkflowClock) => DbosDatabase.open(options, clock),
      inject: [DBOS_RESOLVED_OPTIONS, DBOS_CLOCK],
    },
    { provide: DBOS_EXECUTOR_SETTINGS, useFactory: executorSettingsOf, inject: [DBOS_RESOLVED_OPTIONS] },
    { provide: WorkflowRegistry, useFactory: () => new WorkflowRegistry() },
    { provide: QueueRegistry, useFactory: (options: ResolvedDbosOptions) => new QueueRegistry(options.queues), inject: [DBOS_RESOLVED_OPTIONS] },
    { provide: RunningWorkflows, useFactory: () => new RunningWorkflows() },
    { provide: WorkflowEventsBus, useFactory: (settings: ExecutorSettings) => new WorkflowEventsBus(settings.executorId), inject: [DBOS_EXECUTOR_SETTINGS] },
    {
      provide: LeaseGate,
      useFactory: (database: DbosDatabase, settings: ExecutorSettings, runs: RunningWorkflows) =>
        new LeaseGate(database.repositories.recovery, settings, runs.stopSignal),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, RunningWorkflows],
    },
    {
      provide: StepRunner,
      useFactory: (database: DbosDatabase, settings: ExecutorSettings, gate: LeaseGate) =>
        new StepRunner({
          checkpoints: database.repositories.checkpoints,
          attempts: database.repositories.attempts,
          system: database.system,
          limits: settings,
          gate,
        }),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, LeaseGate],
    },
    {
      provide: TransactionRunner,
      useFactory: (database: DbosDatabase, settings: ExecutorSettings, steps: StepRunner) =>
        new TransactionRunner({
          steps,
          checkpoints: database.repositories.checkpoints,
          transactions: database.transactions,
          onOwnPool: database.ownTransactionDataSource !== undefined,
          limits: settings,
        }),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, StepRunner],
    },
    {
      provide: WorkflowCanceller,
      useFactory: (database: DbosDatabase, runs: RunningWorkflows, events: WorkflowEventsBus, clock: WorkflowClock) =>
        new WorkflowCanceller({ runs, admin: database.repositories.admin, events, clock }),
      inject: [DBOS_SYSTEM_DATABASE, RunningWorkflows, WorkflowEventsBus, DBOS_CLOCK],
    },
    {
      provide: WorkflowExecutor,
      useFactory: (
        database: DbosDatabase,
        settings: ExecutorSettings,
        queueRegistry: QueueRegistry,
        runs: RunningWorkflows,
        gate: LeaseGate,
        events: WorkflowEventsBus,
        canceller: WorkflowCanceller,
        clock: WorkflowClock,
      ) => {
        const { lifecycle, listing, checkpoints, queues } = database.repositories;
        return new WorkflowExecutor({ lifecycle, listing, checkpoints, queues, queueRegistry, runs, gate, events, canceller, clock }, settings);
      },
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, QueueRegistry, RunningWorkflows, LeaseGate, WorkflowEventsBus, WorkflowCanceller, DBOS_CLOCK],
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
        canceller: WorkflowCanceller,
        clock: WorkflowClock,
      ) => {
        const { listing, recovery, admin } = database.repositories;
        return new WorkflowControl({ executor, runs, registry, listing, recovery, admin, listener: database.listener, settings, events, canceller, clock });
      },
      inject: [
        DBOS_SYSTEM_DATABASE,
        DBOS_EXECUTOR_SETTINGS,
        WorkflowExecutor,
        RunningWorkflows,
        WorkflowRegistry,
        WorkflowEventsBus,
        WorkflowCanceller,
        DBOS_CLOCK,
      ],
    },
    {
      provide: WorkflowResumer,
      useFactory: (database: DbosDatabase, settings: ExecutorSettings, executor: WorkflowExecutor, runs: RunningWorkflows, events: WorkflowEventsBus) =>
        new WorkflowResumer(
          executor,
          runs,
          database.repositories.recovery,
          database.repositories.lifecycle,
          settings,
          database.repositories.checkpoints,
          events,
        ),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, WorkflowExecutor, RunningWorkflows, WorkflowEventsBus],
    },
    {
      provide: QueueDispatcher,
      useFactory: (database: DbosDatabase, executor: WorkflowExecutor, runs: RunningWorkflows, registry: WorkflowRegistry, queues: QueueRegistry) =>
        new QueueDispatcher(database.repositories.queues, executor, runs, registry, queues, database.listener),
      inject: [DBOS_SYSTEM_DATABASE, WorkflowExecutor, RunningWorkflows, WorkflowRegistry, QueueRegistry],
    },
    {
      provide: RecoveryRunner,
      useFactory: (database: DbosDatabase, settings: ExecutorSettings, registry: WorkflowRegistry, resumer: WorkflowResumer, runs: RunningWorkflows) =>
        new RecoveryRunner(database.repositories.recovery, database.repositories.listing, database.repositories.admin, registry, resumer, runs, settings),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, WorkflowRegistry, WorkflowResumer, RunningWorkflows],
    },
    { provide: RecoveryService, useFactory: (runner: RecoveryRunner) => new RecoveryService(runner), inject: [RecoveryRunner] },
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
      provide: TickStarter,
      useFactory: (database: DbosDatabase) => new TickStarter(database.repositories.schedules, new Logger('Schedules')),
      inject: [DBOS_SYSTEM_DATABASE],
    },
    {
      provide: WorkflowScheduler,
      useFactory: (database: DbosDatabase, registry: WorkflowRegistry, executor: WorkflowExecutor, ticks: TickStarter) =>
        new WorkflowScheduler(registry, executor, database.repositories.scheduler, ticks),
      inject: [DBOS_SYSTEM_DATABASE, WorkflowRegistry, WorkflowExecutor, TickStarter],
    },
    {
      provide: ScheduleRunner,
      // The registry is read at bootstrap (start), once the explorer has filled it.
      useFactory: (database: DbosDatabase, registry: WorkflowRegistry, executor: WorkflowExecutor, ticks: TickStarter) =>
        new ScheduleRunner(
          database.repositories.schedules,
          ticks,
          database.listener,
          executor.clock,
          () => executor.isAccepting,
          () =>
            registry
              .schedules()
              .filter((s) => s.options.overlap === 'buffer-one')
              .map((s) => ({ workflowName: s.registration.name, overlap: 'buffer-one' as const, queue: s.options.queue })),
        ),
      inject: [DBOS_SYSTEM_DATABASE, WorkflowRegistry, WorkflowExecutor, TickStarter],
    },
    // The same instance as the injected client's `schedules`.
    { provide: ScheduleClient, useFactory: (client: WorkflowClient) => client.schedules, inject: [WorkflowClient] },
    {
      provide: RetentionTask,
      useFactory: (database: DbosDatabase, options: ResolvedDbosOptions) => new RetentionTask(database.repositories.admin, options.retention),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_RESOLVED_OPTIONS],
    },
    {
      provide: WorkflowClient,
      useFactory: (database: DbosDatabase, control: WorkflowControl) =>
        WorkflowClient.over({
          ...database.repositories,
          listener: database.listener,
          system: database.system,
          local: control,
        }),
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
      useFactory: (
        database: DbosDatabase,
        settings: ExecutorSettings,
        steps: StepRunner,
        executor: WorkflowExecutor,
        control: WorkflowControl,
        runs: RunningWorkflows,
        gate: LeaseGate,
        registry: WorkflowRegistry,
      ) =>
        new WorkflowOperations({
          steps,
          executor,
          control,
          runs,
          gate,
          registry,
          communication: database.repositories.communication,
          listener: database.listener,
          settings,
          clock: executor.clock,
        }),
      inject: [DBOS_SYSTEM_DATABASE, DBOS_EXECUTOR_SETTINGS, StepRunner, WorkflowExecutor, WorkflowControl, RunningWorkflows, LeaseGate, WorkflowRegistry],
    },
    {
      provide: WorkflowReplayer,
      useFactory: (database: DbosDatabase, registry: WorkflowRegistry) =>
        new WorkflowReplayer(registry, database.repositories.listing, database.repositories.checkpoints),
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
export const DBOS_EXPORTS = [WorkflowClient, ScheduleClient, DbosContext, QueueRegistry, RecoveryService, DbosHealthIndicator, WorkflowReplayer];
