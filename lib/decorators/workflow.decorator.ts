import { SetMetadata } from '@nestjs/common';
import { WORKFLOW_METADATA } from '../dbos.constants';
import type { WorkflowDecoratorOptions } from '../interfaces/workflow-options.interface';

/** Marks a provider method as a durable workflow. */
export const Workflow = (options: WorkflowDecoratorOptions = {}): MethodDecorator => SetMetadata(WORKFLOW_METADATA, options);
