import { Cron } from 'croner';
import { DbosConfigurationError } from '../errors/configuration.error';
import type { ScheduledOptions } from '../interfaces/workflow-options.interface';

/** Parses a cron expression, quoting it in the error when it is invalid. */
export function parseCron(expression: string, options: ScheduledOptions, where: string): Cron {
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
