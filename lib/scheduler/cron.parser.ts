import { Cron } from 'croner';
import { DbosConfigurationError } from '../errors/configuration.error';
import type { ScheduledOptions } from '../interfaces/workflow-options.interface';
import { OVERLAP_POLICIES } from '../schedules/schedule.definition';

/** Parses a cron expression, quoting it in the error when it is invalid (or the overlap policy is not one). */
export function parseCron(expression: string, options: ScheduledOptions, where: string): Cron {
  if (options.overlap !== undefined && !OVERLAP_POLICIES.includes(options.overlap)) {
    throw new DbosConfigurationError(`${where}: overlap "${String(options.overlap)}" is not a policy; use one of ${OVERLAP_POLICIES.join(', ')}.`);
  }
  try {
    return new Cron(expression, { timezone: options.timezone ?? 'UTC', paused: true });
  } catch (err) {
    throw new DbosConfigurationError(`${where}: invalid cron expression "${expression}": ${(err as Error).message}`);
  }
}

/** The ticks of `cron` after `since` and not after `now`, oldest first, at most `max` of them. */
export function missedTicks(cron: Cron, since: Date, now: Date, max: number): Date[] {
  const missed: Date[] = [];
  for (let tick = cron.nextRun(since); tick && tick.getTime() <= now.getTime() && missed.length < max; tick = cron.nextRun(tick)) {
    missed.push(tick);
  }
  return missed;
}
