import { SetMetadata } from '@nestjs/common';
import { STEP_METADATA } from '../dbos.constants';
import type { StepDecoratorOptions } from '../interfaces/workflow-options.interface';

/** Marks a provider method as a step: inside a workflow it runs once and its result is checkpointed. */
export const Step = (options: StepDecoratorOptions = {}): MethodDecorator => SetMetadata(STEP_METADATA, options);
