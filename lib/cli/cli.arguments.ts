import { WorkflowStatus, type WorkflowStatusType } from '../interfaces/workflow-status.interface';
import { UsageError, type CommandContext } from './command.interface';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

export function stringOption(ctx: CommandContext, name: string): string | undefined {
  const value = ctx.options[name];
  return typeof value === 'string' ? value : undefined;
}

export function requiredStringOption(ctx: CommandContext, name: string): string {
  const value = stringOption(ctx, name);
  if (value === undefined) throw new UsageError(`Option --${name} is required.`);
  return value;
}

export function flag(ctx: CommandContext, name: string): boolean {
  return ctx.options[name] === true;
}

/** A repeatable option, each occurrence possibly a comma-separated list. */
export function listOption(ctx: CommandContext, name: string): string[] {
  const value = ctx.options[name];
  const raw = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return raw
    .filter((item): item is string => typeof item === 'string')
    .flatMap((item) => item.split(','))
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** A repeatable `KEY=VALUE` option (`--attr tenant=acme --attr region=eu`) as an object; undefined when absent. The value may hold commas and `=`. */
export function keyValueOption(ctx: CommandContext, name: string): Record<string, string> | undefined {
  const value = ctx.options[name];
  const raw = (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((item): item is string => typeof item === 'string');
  if (raw.length === 0) return undefined;
  const pairs = raw.map((item): [string, string] => {
    const at = item.indexOf('=');
    if (at <= 0) throw new UsageError(`--${name} "${item}" is not KEY=VALUE: write it as --${name} tenant=acme.`);
    return [item.slice(0, at), item.slice(at + 1)];
  });
  return Object.fromEntries(pairs);
}

/** `30m`, `2h`, `7d`, ... in milliseconds. */
export function parseDuration(text: string, option: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new UsageError(`--${option} "${text}" is not a duration: use a number and a unit (ms, s, m, h, d, w), e.g. 30m, 2h or 7d.`);
  return Number(match[1]) * UNIT_MS[match[2]];
}

/** An ISO date, or a duration meaning that long before `now`. */
export function parseMoment(text: string, option: string, now: Date): Date {
  if (ISO_DATE.test(text.trim())) {
    const date = new Date(text.trim());
    if (!Number.isNaN(date.getTime())) return date;
  }
  if (DURATION.test(text.trim())) return new Date(now.getTime() - parseDuration(text, option));
  throw new UsageError(`--${option} "${text}" is neither an ISO date (2026-01-31, 2026-01-31T12:00:00Z) nor a time ago (30m, 2h, 7d).`);
}

export function parseInteger(text: string, option: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${option} "${text}" must be a whole number of at least ${min}.`);
  }
  return value;
}

export function optionalInteger(ctx: CommandContext, name: string, min: number): number | undefined {
  const text = stringOption(ctx, name);
  return text === undefined ? undefined : parseInteger(text, name, min);
}

export function optionalMoment(ctx: CommandContext, name: string): Date | undefined {
  const text = stringOption(ctx, name);
  return text === undefined ? undefined : parseMoment(text, name, ctx.now);
}

const STATUSES = Object.values(WorkflowStatus) as WorkflowStatusType[];

export function parseStatus(text: string): WorkflowStatusType {
  const status = text.toUpperCase() as WorkflowStatusType;
  if (!STATUSES.includes(status)) throw new UsageError(`Unknown status "${text}": use one of ${STATUSES.join(', ')}.`);
  return status;
}

export function parseChoice<T extends string>(text: string, option: string, choices: readonly T[]): T {
  const choice = choices.find((c) => c === text.toLowerCase());
  if (!choice) throw new UsageError(`--${option} must be one of ${choices.join(', ')}, not "${text}".`);
  return choice;
}
