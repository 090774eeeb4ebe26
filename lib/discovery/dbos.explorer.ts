import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { DBOS_EXECUTOR_SETTINGS, DBOS_MODULE_OPTIONS } from '../dbos.constants';
import { DbosConfigurationError } from '../errors/configuration.error';
import type { ExecutorSettings } from '../execution/executor.settings';
import { WorkflowEventsBus } from '../events/workflow-events.bus';
import { StepRunner } from '../execution/step.runner';
import { stepOptionsProblem } from '../execution/step-options.check';
import { TransactionRunner } from '../execution/transaction.runner';
import { WorkflowOperations } from '../execution/workflow.operations';
import type { DbosModuleOptions } from '../interfaces/dbos-module-options.interface';
import { parseCron } from '../scheduler/cron.parser';
import { DbosMetadataAccessor } from './dbos-metadata.accessor';
import { WorkflowRegistry, type StepRegistration, type WorkflowRegistration } from './workflow.registry';

type AnyMethod = (...args: unknown[]) => Promise<unknown>;

/**
 * Finds @Workflow, @Step and @Transaction methods on the app's singleton providers, registers
 * them and replaces each method on its instance with its durable version, so that plain calls
 * (`this.validatePayment(order)`) go through the executor.
 */
@Injectable()
export class DbosExplorer implements OnModuleInit {
  private readonly logger = new Logger('DbosModule');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: DbosMetadataAccessor,
    private readonly registry: WorkflowRegistry,
    private readonly operations: WorkflowOperations,
    private readonly steps: StepRunner,
    private readonly transactions: TransactionRunner,
    private readonly events: WorkflowEventsBus,
    @Inject(DBOS_EXECUTOR_SETTINGS) private readonly settings: ExecutorSettings,
    @Inject(DBOS_MODULE_OPTIONS) private readonly options: DbosModuleOptions,
  ) {}

  onModuleInit(): void {
    this.explore();
    if (!this.options.applicationVersion) {
      this.settings.applicationVersion = this.registry.codeHash();
    }
    this.logger.log(
      `Registered ${this.registry.workflowNames().length} workflow(s); executor "${this.settings.executorId}", ` +
        `application version "${this.settings.applicationVersion}"`,
    );
  }

  explore(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const { instance } = wrapper;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance);
      if (!prototype) continue;
      const methodNames = this.scanner.getAllMethodNames(prototype);
      const decorated = methodNames.filter((name) => this.isDecorated(instance[name]));
      if (decorated.length === 0) continue;
      if (!wrapper.isDependencyTreeStatic()) {
        this.warnNotSingleton(wrapper, decorated);
        continue;
      }
      for (const methodName of decorated) {
        if (this.accessor.getWorkflowEventMetadata(instance[methodName])) this.registerHooks(instance, methodName);
        else this.registerMethod(instance, methodName);
      }
    }
  }

  private isDecorated(method: unknown): boolean {
    if (typeof method !== 'function') return false;
    const target = method as AnyMethod;
    return Boolean(
      this.accessor.getWorkflowMetadata(target) ??
      this.accessor.getStepMetadata(target) ??
      this.accessor.getTransactionMetadata(target) ??
      this.accessor.getScheduledMetadata(target) ??
      this.accessor.getWorkflowEventMetadata(target),
    );
  }

  /** An `@OnWorkflowEvent` method: subscribed to the events bus, called on its instance. */
  private registerHooks(instance: Record<string, unknown>, methodName: string): void {
    const method = instance[methodName] as AnyMethod;
    const name = `${instance.constructor.name}.${methodName}`;
    const durable = [
      this.accessor.getWorkflowMetadata(method),
      this.accessor.getStepMetadata(method),
      this.accessor.getTransactionMetadata(method),
      this.accessor.getScheduledMetadata(method),
    ];
    if (durable.some(Boolean)) {
      throw new DbosConfigurationError(`${name} has @OnWorkflowEvent and a durable decorator; a workflow event hook is a plain method.`);
    }
    for (const { event, options } of this.accessor.getWorkflowEventMetadata(method)!) {
      this.events.subscribe(event, name, (payload) => method.call(instance, payload), options);
    }
  }

  private registerMethod(instance: Record<string, unknown>, methodName: string): void {
    const method = instance[methodName] as AnyMethod;
    const className = instance.constructor.name;
    const workflow = this.accessor.getWorkflowMetadata(method);
    const step = this.accessor.getStepMetadata(method);
    const transaction = this.accessor.getTransactionMetadata(method);
    const scheduled = this.accessor.getScheduledMetadata(method);
    if ([workflow, step, transaction, scheduled].filter(Boolean).length > 1) {
      throw new DbosConfigurationError(
        `${className}.${methodName} has more than one of @Workflow, @Step, @Transaction and @Scheduled; a method is exactly one of them.`,
      );
    }
    if (workflow || scheduled) {
      const options = workflow ?? { name: scheduled!.options.name };
      const registration: WorkflowRegistration = {
        name: options.name ?? `${className}.${methodName}`,
        className,
        methodName,
        instance,
        method,
        options,
      };
      this.registry.addWorkflow(registration);
      if (scheduled) {
        parseCron(scheduled.cron, scheduled.options, `@Scheduled on ${className}.${methodName}`);
        this.registry.addSchedule({ registration, cron: scheduled.cron, options: scheduled.options });
      }
      instance[methodName] = (...args: unknown[]) => this.operations.callWorkflow(registration, args);
      return;
    }
    const kind = step ? 'step' : 'transaction';
    const options = (step ?? transaction)!;
    const problem = step && stepOptionsProblem(step);
    if (problem) throw new DbosConfigurationError(`@Step on ${className}.${methodName}: ${problem}.`);
    const registration: StepRegistration = {
      kind,
      name: options.name ?? `${className}.${methodName}`,
      className,
      methodName,
      method,
      options,
    };
    this.registry.addStep(registration);
    instance[methodName] =
      kind === 'step'
        ? (...args: unknown[]) => this.steps.runStep(registration, instance, args)
        : (...args: unknown[]) => this.transactions.runTransaction(registration, instance, args);
  }

  private warnNotSingleton(wrapper: InstanceWrapper, methods: string[]): void {
    this.logger.warn(
      `${wrapper.name} is request-scoped or transient, so its durable methods (${methods.join(', ')}) are not ` +
        `registered: a recovered workflow needs one long-lived instance. Make the provider a singleton.`,
    );
  }
}
