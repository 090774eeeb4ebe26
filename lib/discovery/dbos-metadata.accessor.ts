import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SCHEDULED_METADATA, STEP_METADATA, TRANSACTION_METADATA, WORKFLOW_EVENT_METADATA, WORKFLOW_METADATA } from '../dbos.constants';
import type { WorkflowEventMetadata } from '../decorators/on-workflow-event.decorator';
import type { ScheduledMetadata } from '../decorators/scheduled.decorator';
import type { StepDecoratorOptions, TransactionDecoratorOptions, WorkflowDecoratorOptions } from '../interfaces/workflow-options.interface';

type Target = (...args: unknown[]) => unknown;

@Injectable()
export class DbosMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  getWorkflowMetadata(target: Target): WorkflowDecoratorOptions | undefined {
    return this.reflector.get(WORKFLOW_METADATA, target);
  }

  getStepMetadata(target: Target): StepDecoratorOptions | undefined {
    return this.reflector.get(STEP_METADATA, target);
  }

  getTransactionMetadata(target: Target): TransactionDecoratorOptions | undefined {
    return this.reflector.get(TRANSACTION_METADATA, target);
  }

  getScheduledMetadata(target: Target): ScheduledMetadata | undefined {
    return this.reflector.get(SCHEDULED_METADATA, target);
  }

  /** The `@OnWorkflowEvent` hooks on the method (several decorators may stack). */
  getWorkflowEventMetadata(target: Target): WorkflowEventMetadata[] | undefined {
    return this.reflector.get(WORKFLOW_EVENT_METADATA, target);
  }
}
