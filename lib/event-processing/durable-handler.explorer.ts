import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import type { WorkflowRegistration } from '../discovery/registration.interfaces';
import { WorkflowRegistry } from '../discovery/workflow.registry';
import { DbosConfigurationError } from '../errors/configuration.error';
import { WorkflowControl } from '../execution/workflow.control';
import { WorkflowExecutor } from '../execution/workflow.executor';
import { bindRunner } from './durable-handler.bindings';
import { DURABLE_HANDLER_METADATA, type DurableHandlerMetadata } from './durable-handler.decorator';
import { DurableMessageHandler } from './durable-message.runner';
import { checkTransports, microservicesOf } from './transport.checks';

/** `@nestjs/microservices` metadata, read by key so that the module loads without the package. */
const PATTERN_HANDLER_METADATA = 'microservices:handler_type';
const TRANSPORT_METADATA = 'microservices:transport';
const EVENT_HANDLER = 2;

/**
 * Finds the @DurableHandler methods of the app's controllers, registers each as a workflow and
 * gives the method its runner. Runs before DbosExplorer (its providers come first), so the
 * handlers count in the application version.
 */
@Injectable()
export class DurableHandlerExplorer implements OnModuleInit {
  private readonly logger = new Logger('DbosModule');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly modules: ModulesContainer,
    private readonly registry: WorkflowRegistry,
    private readonly executor: WorkflowExecutor,
    private readonly control: WorkflowControl,
  ) {}

  onModuleInit(): void {
    const servers = microservicesOf(this.modules);
    for (const wrapper of this.discovery.getControllers()) {
      const { instance } = wrapper;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance);
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[methodName] as Function;
        const metadata = this.reflector.get<DurableHandlerMetadata | undefined>(DURABLE_HANDLER_METADATA, handler);
        if (!metadata) continue;
        const where = `@DurableHandler on ${instance.constructor.name}.${methodName}`;
        if (!wrapper.isDependencyTreeStatic()) {
          this.logger.warn(`${where} is ignored: its controller is request-scoped; a recovered workflow needs one long-lived instance.`);
          continue;
        }
        if (this.reflector.get(PATTERN_HANDLER_METADATA, handler) !== EVENT_HANDLER) {
          throw new DbosConfigurationError(`${where} needs @EventPattern on the same method: it handles events (no reply).`);
        }
        checkTransports(where, metadata.options, this.reflector.get(TRANSPORT_METADATA, handler), servers);
        const registration: WorkflowRegistration = {
          name: metadata.options.name ?? `${instance.constructor.name}.${methodName}`,
          className: instance.constructor.name,
          methodName,
          instance,
          method: metadata.method,
          options: { name: metadata.options.name },
        };
        this.registry.addWorkflow(registration);
        bindRunner(handler, new DurableMessageHandler(registration, metadata.options, this.executor, this.control));
      }
    }
  }
}
