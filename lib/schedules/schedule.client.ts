import { DbosConfigurationError } from '../errors/configuration.error';
import { DbosConflictError } from '../errors/conflict.error';
import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import type { BackfillResult, CreateScheduleOptions, OverlapPolicy, ScheduleChanges, ScheduleInfo } from '../interfaces/schedule.interface';
import { deserialize, serialize } from '../serialization/value.codec';
import type { NewScheduleRow, ScheduleRepository, ScheduleRow } from '../system-database/schedule.repository';
import { checkOverlap, checkScheduleName, scheduleCron } from './schedule.definition';
import { TickStarter } from './tick.starter';

/** A backfill starts at most this many ticks: a wider range is a mistake more often than a wish. */
export const MAX_BACKFILL_TICKS = 10_000;

/**
 * Schedules stored in the database, created and changed at run time: every process of the app
 * fires their ticks and picks up a change at once (NOTIFY, with polling as the fallback); each
 * tick starts its workflow, by registered name, once in total. Inject it in a Nest app, or use
 * `client.schedules` of `WorkflowClient.connect()`.
 */
export class ScheduleClient {
  private readonly ticks: TickStarter;

  /** @internal Built by the module and by WorkflowClient. */
  constructor(private readonly repository: ScheduleRepository) {
    if (!repository) {
      throw new DbosConfigurationError(
        'ScheduleClient is not constructed directly: inject it in a Nest app that imports DbosModule, or use `client.schedules` of `await WorkflowClient.connect({ database: { url } })`.',
      );
    }
    this.ticks = new TickStarter(repository);
  }

  /**
   * Creates a schedule. A schedule of that name existing already is a DbosConflictError, unless
   * `upsert` is set: then its definition is replaced, and its tick state kept, and its pause unless
   * `paused` is given (an app may upsert its schedules at every start without undoing an operator's
   * pause).
   */
  async create(options: CreateScheduleOptions): Promise<ScheduleInfo> {
    const row = toNewRow(options);
    if (options.upsert) {
      if (!(await this.repository.replace(row)) && !(await this.repository.insert(row))) {
        await this.repository.replace(row); // created in between by another caller: replace it too
      }
    } else if (!(await this.repository.insert(row))) {
      throw new DbosConflictError(
        `A schedule named "${options.name}" exists already. Change it with update(), delete it first, or pass upsert: true to replace it.`,
      );
    }
    return this.require(options.name);
  }

  /** Changes some fields of a schedule; the next ticks follow the new definition. */
  async update(name: string, changes: ScheduleChanges): Promise<ScheduleInfo> {
    const current = await this.require(name);
    const row = toNewRow({ ...current, queue: current.queue ?? undefined, ...changes, name, paused: undefined });
    if (!(await this.repository.replace(row))) throw notFound(name);
    return this.require(name);
  }

  /** No tick starts until `resume`; a running workflow goes on. */
  async pause(name: string): Promise<void> {
    if (!(await this.repository.setPaused(name, true))) throw notFound(name);
  }

  /** Ticks start again from the next one; those of the paused time are not run (see backfill). */
  async resume(name: string): Promise<void> {
    if (!(await this.repository.setPaused(name, false))) throw notFound(name);
  }

  /** Deletes the schedule; the workflows it started are left as they are. */
  async delete(name: string): Promise<void> {
    if (!(await this.repository.delete(name))) throw notFound(name);
  }

  /** The schedule, or null when there is none of that name. */
  async get(name: string): Promise<ScheduleInfo | null> {
    const row = await this.repository.get(name);
    return row ? toInfo(row) : null;
  }

  async list(): Promise<ScheduleInfo[]> {
    return (await this.repository.list()).map(toInfo);
  }

  /**
   * Starts one run now, outside the cron, whatever the overlap policy and also while paused; the
   * workflow gets the trigger's time as its scheduled time. Returns its workflow id
   * (`client.retrieve(id)` for a handle); a running trigger counts as a running tick for the
   * overlap policy of the next ticks.
   */
  async trigger(name: string): Promise<string> {
    const workflowId = await this.ticks.trigger(name);
    if (workflowId === null) throw notFound(name);
    return workflowId;
  }

  /**
   * Starts the ticks of the schedule in [from, to] (both included) that have no workflow yet:
   * ticks paused, skipped by the overlap policy or missed while no process ran. Idempotent: a
   * tick's workflow id is its time, so calling it again starts nothing new. The overlap policy is
   * not applied (they all start, oldest first; use a queue with a concurrency to pace them).
   */
  async backfill(name: string, from: Date, to: Date): Promise<BackfillResult> {
    if (!(from instanceof Date) || !(to instanceof Date) || Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from > to) {
      throw new DbosInvalidArgumentError(`backfill("${name}", from, to) needs two valid Dates with from <= to.`);
    }
    const schedule = await this.require(name);
    const cron = scheduleCron(schedule.cron, schedule.timezone, `Schedule "${name}"`);
    const ticks: number[] = [];
    for (let tick = cron.nextRun(new Date(from.getTime() - 1)); tick && tick.getTime() <= to.getTime(); tick = cron.nextRun(tick)) {
      if (ticks.length === MAX_BACKFILL_TICKS) {
        throw new DbosInvalidArgumentError(`backfill("${name}") covers more than ${MAX_BACKFILL_TICKS} ticks; backfill a shorter range at a time.`);
      }
      ticks.push(tick.getTime());
    }
    const outcome = await this.ticks.backfill(name, ticks);
    if (!outcome) throw notFound(name);
    return { started: outcome.started, existing: ticks.length - outcome.started.length };
  }

  private async require(name: string): Promise<ScheduleInfo> {
    const schedule = await this.get(name);
    if (!schedule) throw notFound(name);
    return schedule;
  }
}

function notFound(name: string): DbosNotFoundError {
  return new DbosNotFoundError(`No schedule is named "${name}". list() shows the schedules there are.`);
}

function toNewRow(options: CreateScheduleOptions): NewScheduleRow {
  checkScheduleName(options.name);
  const where = `Schedule "${options.name}"`;
  const timezone = options.timezone ?? 'UTC';
  scheduleCron(options.cron, timezone, where);
  const overlap: OverlapPolicy = options.overlap ?? 'allow';
  checkOverlap(overlap, where);
  if (typeof options.workflowName !== 'string' || options.workflowName.length === 0) {
    throw new DbosInvalidArgumentError(`${where}: workflowName is required (the registered name, e.g. 'ReportService.daily').`);
  }
  if (options.args !== undefined && !Array.isArray(options.args)) {
    throw new DbosInvalidArgumentError(`${where}: args must be an array (the arguments after the scheduled time).`);
  }
  return {
    name: options.name,
    cron: options.cron,
    timezone,
    workflowName: options.workflowName,
    inputs: serialize(options.args ?? [], `the arguments of schedule "${options.name}"`),
    queueName: options.queue ?? null,
    overlap,
    paused: options.paused ?? null,
  };
}

function toInfo(row: ScheduleRow): ScheduleInfo {
  const date = (ms: number | null) => (ms === null ? null : new Date(ms));
  const nextTick = row.paused ? null : scheduleCron(row.cron, row.timezone, `Schedule "${row.name}"`).nextRun();
  return {
    name: row.name,
    cron: row.cron,
    timezone: row.timezone,
    workflowName: row.workflowName,
    args: deserialize<unknown[]>(row.inputs),
    queue: row.queueName,
    overlap: row.overlap as OverlapPolicy,
    paused: row.paused,
    lastTick: date(row.lastTick),
    bufferedTick: date(row.bufferedTick),
    skippedTicks: row.skippedTicks,
    nextTick: nextTick ?? null,
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
  };
}
