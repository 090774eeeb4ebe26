import { Logger, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule, ModuleRef } from '@nestjs/core';
import { LocalWorkflowRuntime, WorkflowClient } from './client/workflow.client';
import { DbosContext } from './context/dbos-context';
import { DbosDatabase } from './dbos-database';
import { DBOS_RESOLVED_OPTIONS, resolveDbosOptions, type ResolvedDbosOptions } from './dbos-options';
import { DBOS_MODULE_OPTIONS, DBOS_SYSTEM_DATABASE } from './dbos.constants';
import { DbosLifecycle } from './dbos.lifecycle';
import { DbosMetadataAccessor } from './discovery/dbos-metadata.accessor';
import { DbosExplorer } from './discovery/dbos.explorer';
import { WorkflowRegistry } from './discovery/workflow.registry';
import { DbosConfigurationError } from './errors/configuration.error';
import { DbosNotFoundError } from './errors/not-found.error';
import { WorkflowOperations } from './execution/workflow-operations';
import { WorkflowExecutor } from './execution/workflow.executor';
import { DbosHealthIndicator } from './health/dbos.health-indicator';
import type { DbosModuleAsyncOptions, DbosModuleOptions, DbosOptionsFactory } from './interfaces/dbos-module-options.interface';
import { QueueDispatcher } from './queues/queue.dispatcher';
import { RecoveryService } from './recovery/recovery.service';

@Module({})
export class DbosModule {
  static forRoot(options: DbosModuleOptions = {}): DynamicModule {
    return DbosModule.assemble([{ provide: DBOS_MODULE_OPTIONS, useValue: options }], []);
  }

  static forRootAsync(options: DbosModuleAsyncOptions): DynamicModule {
    return DbosModule.assemble(DbosModule.createAsyncOptionsProviders(options), options.imports ?? []);
  }

  private static assemble(optionsProviders: Provider[], imports: DynamicModule['imports']): DynamicModule {
    return {
      module: DbosModule,
      global: true,
      imports: [DiscoveryModule, ...(imports ?? [])],
      providers: [...optionsProviders, ...DbosModule.coreProviders()],
      exports: [WorkflowClient, DbosContext, WorkflowExecutor, RecoveryService, QueueDispatcher, DbosHealthIndicator, DBOS_SYSTEM_DATABASE],
    };
  }

  private static coreProviders(): Provider[] {
    return [
      {
        provide: DBOS_RESOLVED_OPTIONS,
        useFactory: (options: DbosModuleOptions) => resolveDbosOptions(options),
        inject: [DBOS_MODULE_OPTIONS],
      },
      {
        provide: DBOS_SYSTEM_DATABASE,
        useFactory: (options: ResolvedDbosOptions) => DbosDatabase.open(options),
        inject: [DBOS_RESOLVED_OPTIONS],
      },
      { provide: WorkflowRegistry, useFactory: () => new WorkflowRegistry() },
      {
        provide: WorkflowExecutor,
        useFactory: (database: DbosDatabase, registry: WorkflowRegistry, options: ResolvedDbosOptions) => {
          const executor = new WorkflowExecutor(
            { ...database, system: database.system, registry, transactionDataSource: database.transactionDataSource },
            {
              executorId: options.executorId,
              // Replaced by the hash of the registered code once discovery has run, unless configured.
              applicationVersion: options.applicationVersion ?? 'unregistered',
              maxRecoveryAttempts: options.recovery.maxRecoveryAttempts,
              shutdownTimeoutMs: options.shutdownTimeoutMs,
              maxPayloadBytes: options.maxPayloadBytes,
              executorLeaseMs: options.recovery.executorLeaseMs,
            },
          );
          const logger = new Logger('DbosModule');
          const checkStatuses = (workflowIds: string[]) =>
            executor.onStatusChanged(workflowIds).catch((err: Error) =>
              // Missed here, a cancellation still wins when the workflow records its outcome.
              logger.warn(`Could not check a status change: ${err.message}`),
            );
          database.listener.onAny((key) => {
            if (key.startsWith('status:')) void checkStatuses([key.slice('status:'.length)]);
          });
          // Cancellations sent while LISTEN was down were not heard: look at every local run.
          database.listener.onReconnect(() => void checkStatuses(executor.runningWorkflowIds()));
          return executor;
        },
        inject: [DBOS_SYSTEM_DATABASE, WorkflowRegistry, DBOS_RESOLVED_OPTIONS],
      },
      {
        provide: QueueDispatcher,
        useFactory: (database: DbosDatabase, registry: WorkflowRegistry, executor: WorkflowExecutor, options: ResolvedDbosOptions) => {
          const dispatcher = new QueueDispatcher(database.queues, executor, registry, database.listener, options.queues ?? []);
          executor.queueLookup = (name) => dispatcher.get(name);
          return dispatcher;
        },
        inject: [DBOS_SYSTEM_DATABASE, WorkflowRegistry, WorkflowExecutor, DBOS_RESOLVED_OPTIONS],
      },
      {
        provide: RecoveryService,
        useFactory: (database: DbosDatabase, registry: WorkflowRegistry, executor: WorkflowExecutor) =>
          new RecoveryService(database.statuses, registry, executor),
        inject: [DBOS_SYSTEM_DATABASE, WorkflowRegistry, WorkflowExecutor],
      },
      {
        provide: WorkflowClient,
        useFactory: (database: DbosDatabase, registry: WorkflowRegistry, executor: WorkflowExecutor) =>
          new WorkflowClient({ ...database, system: database.system, local: localRuntime(registry, executor) }),
        inject: [DBOS_SYSTEM_DATABASE, WorkflowRegistry, WorkflowExecutor],
      },
      {
        provide: DbosHealthIndicator,
        useFactory: (database: DbosDatabase, recovery: RecoveryService, moduleRef: ModuleRef) =>
          new DbosHealthIndicator(database.system, database.listener, recovery, moduleRef),
        inject: [DBOS_SYSTEM_DATABASE, RecoveryService, ModuleRef],
      },
      {
        provide: DbosContext,
        useFactory: (database: DbosDatabase, registry: WorkflowRegistry, executor: WorkflowExecutor) =>
          new DbosContext(new WorkflowOperations(executor, registry, database.communication, database.listener)),
        inject: [DBOS_SYSTEM_DATABASE, WorkflowRegistry, WorkflowExecutor],
      },
      DbosMetadataAccessor,
      DbosExplorer,
      DbosLifecycle,
    ];
  }

  private static createAsyncOptionsProviders(options: DbosModuleAsyncOptions): Provider[] {
    if (options.useFactory) {
      return [{ provide: DBOS_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }];
    }
    const factoryClass = options.useClass ?? options.useExisting;
    if (!factoryClass) {
      throw new DbosConfigurationError('DbosModule.forRootAsync() needs one of useFactory, useClass or useExisting.');
    }
    const optionsProvider: Provider = {
      provide: DBOS_MODULE_OPTIONS,
      useFactory: (factory: DbosOptionsFactory) => factory.createDbosOptions(),
      inject: [factoryClass],
    };
    return options.useClass ? [optionsProvider, { provide: options.useClass, useClass: options.useClass }] : [optionsProvider];
  }
}

function localRuntime(registry: WorkflowRegistry, executor: WorkflowExecutor): LocalWorkflowRuntime {
  return {
    start: (type, methodName, args, options) => {
      const registration = registry.getWorkflowOf(type, methodName);
      if (!registration) {
        throw new DbosNotFoundError(
          `${type.name}.${methodName} is not a registered workflow: decorate it with @Workflow() and make ${type.name} a provider of the app.`,
        );
      }
      return executor.startWorkflow(registration, args, options);
    },
    localResult: (workflowId) => executor.localResult(workflowId),
    cancel: (workflowId) => executor.cancel(workflowId),
    resume: (workflowId, options) => executor.resume(workflowId, options),
    fork: (workflowId, options) => executor.fork(workflowId, options),
  };
}
