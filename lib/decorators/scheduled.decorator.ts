import { SetMetadata } from '@nestjs/common';
import { SCHEDULED_METADATA } from '../dbos.constants';
import type { ScheduledOptions } from '../interfaces/workflow-options.interface';

export interface ScheduledMetadata {
  cron: string;
  options: ScheduledOptions;
}

/**
 * Makes a provider method a workflow started once per cron tick with `(scheduledTime, startTime)`,
 * exactly once per tick however many processes run (the tick is the workflow's identity).
 * Six fields give seconds; five start at the minute.
 */
export const Scheduled = (cron: string, options: ScheduledOptions = {}): MethodDecorator =>
  SetMetadata<string, ScheduledMetadata>(SCHEDULED_METADATA, { cron, options });
