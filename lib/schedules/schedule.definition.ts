import { Cron } from 'croner';
import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import type { OverlapPolicy } from '../interfaces/schedule.interface';

export const OVERLAP_POLICIES: readonly OverlapPolicy[] = ['allow', 'skip', 'buffer-one', 'cancel-other'];

const MAX_NAME_LENGTH = 100;

/** A name that can be part of a workflow id and a notification (`schedule:<name>:...`). */
export function checkScheduleName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH || /[:\s]/.test(name)) {
    throw new DbosInvalidArgumentError(
      `Schedule name ${JSON.stringify(name)} is not valid: use a non-empty string of at most ${MAX_NAME_LENGTH} characters, without ":" or whitespace.`,
    );
  }
}

export function checkOverlap(policy: unknown, where: string): asserts policy is OverlapPolicy {
  if (!OVERLAP_POLICIES.includes(policy as OverlapPolicy)) {
    throw new DbosInvalidArgumentError(
      `${where}: overlap ${JSON.stringify(policy)} is not a policy; use one of ${OVERLAP_POLICIES.map((p) => `'${p}'`).join(', ')}.`,
    );
  }
}

/** The cron of a runtime schedule; an invalid expression or time zone is a DbosInvalidArgumentError that quotes it. */
export function scheduleCron(expression: string, timezone: string, where: string): Cron {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new DbosInvalidArgumentError(`${where}: unknown time zone "${timezone}"; use an IANA name such as "Europe/Paris" or "UTC".`);
  }
  try {
    return new Cron(expression, { timezone, paused: true });
  } catch (err) {
    throw new DbosInvalidArgumentError(
      `${where}: invalid cron expression "${expression}": ${(err as Error).message}. Use five fields (minute first) or six (second first).`,
    );
  }
}

/** Whether `tick` is a tick of `cron` (a timer armed under an older definition may fire one that is not). */
export function isTickOf(cron: Cron, tick: number): boolean {
  return cron.nextRun(new Date(tick - 1))?.getTime() === tick;
}

/** Every workflow a runtime schedule starts has an id beginning so; the tick's time follows. */
export const runtimeRunPrefix = (name: string): string => `schedule:${name}:`;
export const runtimeTickId = (name: string, tick: number): string => `${runtimeRunPrefix(name)}${new Date(tick).toISOString()}`;
export const runtimeTriggerId = (name: string, at: number, nonce: string): string => `${runtimeRunPrefix(name)}trigger:${new Date(at).toISOString()}:${nonce}`;

/** The ids of `@Scheduled` ticks, as they always were: `sched-<workflowName>-<ISO time>`. */
export const decoratorRunPrefix = (workflowName: string): string => `sched-${workflowName}-`;
export const decoratorTickId = (workflowName: string, tick: number): string => `${decoratorRunPrefix(workflowName)}${new Date(tick).toISOString()}`;

/** The schedule a runtime schedule's workflow id belongs to, or undefined. */
export function runtimeScheduleOf(workflowId: string): string | undefined {
  const match = /^schedule:([^:]+):/.exec(workflowId);
  return match?.[1];
}

/** The workflow name of a `@Scheduled` tick's id, or undefined. */
export function decoratorWorkflowOf(workflowId: string): string | undefined {
  const match = /^sched-(.+)-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.exec(workflowId);
  return match?.[1];
}
