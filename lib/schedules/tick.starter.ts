import { randomBytes } from 'node:crypto';
import type { OverlapPolicy } from '../interfaces/schedule.interface';
import { deserialize, serialize } from '../serialization/value.codec';
import type { LockedTickState, ScheduledRun, ScheduleRepository, ScheduleRow, TickOutcome, TickTarget } from '../system-database/schedule.repository';
import { INTERNAL_QUEUE } from '../system-database/system.names';
import { planBufferedStart, planTick } from './overlap.policy';
import { decoratorRunPrefix, decoratorTickId, isTickOf, runtimeRunPrefix, runtimeTickId, runtimeTriggerId, scheduleCron } from './schedule.definition';

export interface TickLogger {
  log(message: string): void;
}

/** A `@Scheduled` workflow whose ticks are decided against the database (an overlap policy other than 'allow'). */
export interface DecoratorSchedule {
  workflowName: string;
  overlap: OverlapPolicy;
  queue?: string;
}

const silent: TickLogger = { log: () => undefined };

/**
 * Starts the ticks of every schedule kind through one decision per tick against the database
 * (ScheduleRepository.decide): however many processes fire a tick, the first to lock the
 * schedule's row decides it, and the others find it decided. The workflow is enqueued by name, so
 * any process that registers it runs it.
 */
export class TickStarter {
  constructor(
    private readonly repository: ScheduleRepository,
    private readonly logger: TickLogger = silent,
  ) {}

  /** A tick of a runtime schedule, unless it is paused, deleted, changed to another cron, or decided already. */
  async fireRuntime(name: string, tick: number): Promise<TickOutcome | null> {
    const outcome = await this.repository.decide({ kind: 'runtime', name }, runtimeRunPrefix(name), (state, running) => {
      const schedule = state.schedule!;
      if (schedule.paused || !isTickOf(scheduleCron(schedule.cron, schedule.timezone, `Schedule "${name}"`), tick)) return null;
      return planTick(schedule.overlap as OverlapPolicy, state, running, tick, (t) => runtimeRun(schedule, runtimeTickId(name, t), t));
    });
    this.report(`Schedule "${name}"`, tick, outcome);
    return outcome;
  }

  /** A tick of a `@Scheduled` workflow with an overlap policy; its workflow gets `(scheduledTime, startTime)` as always. */
  async fireDecorator(schedule: DecoratorSchedule, tick: number, now: number): Promise<TickOutcome | null> {
    const outcome = await this.repository.decide(decoratorTarget(schedule), decoratorRunPrefix(schedule.workflowName), (state, running) =>
      planTick(schedule.overlap, state, running, tick, (t) => decoratorRun(schedule, t, now)),
    );
    this.report(`@Scheduled ${schedule.workflowName}`, tick, outcome);
    return outcome;
  }

  /** Starts the tick a 'buffer-one' runtime schedule holds back, once nothing of it runs (not while paused: then once resumed). */
  async startBufferedRuntime(name: string): Promise<TickOutcome | null> {
    return this.repository.decide({ kind: 'runtime', name }, runtimeRunPrefix(name), (state, running) =>
      state.schedule!.paused ? null : planBufferedStart(state, running, (t) => runtimeRun(state.schedule!, runtimeTickId(name, t), t)),
    );
  }

  async startBufferedDecorator(schedule: DecoratorSchedule): Promise<TickOutcome | null> {
    return this.repository.decide(decoratorTarget(schedule), decoratorRunPrefix(schedule.workflowName), (state, running) =>
      planBufferedStart(state, running, (t) => decoratorRun(schedule, t, Date.now())),
    );
  }

  /** One run now, outside the cron and the overlap policy; null when there is no such schedule. */
  async trigger(name: string, now = Date.now()): Promise<string | null> {
    const id = runtimeTriggerId(name, now, randomBytes(4).toString('hex'));
    const outcome = await this.repository.decide({ kind: 'runtime', name }, runtimeRunPrefix(name), (state: LockedTickState) => ({
      start: [runtimeRun(state.schedule!, id, now)],
    }));
    return outcome ? id : null;
  }

  /** Enqueues the given ticks whose workflows do not exist yet; null when there is no such schedule. */
  async backfill(name: string, ticks: number[]): Promise<TickOutcome | null> {
    return this.repository.decide({ kind: 'runtime', name }, runtimeRunPrefix(name), (state: LockedTickState) => {
      const args = argsOf(state.schedule!); // once for every tick of the range
      return { start: ticks.map((t) => runtimeRun(state.schedule!, runtimeTickId(name, t), t, args)) };
    });
  }

  private report(what: string, tick: number, outcome: TickOutcome | null): void {
    if (!outcome) return;
    const at = new Date(tick).toISOString();
    const { plan, cancelled } = outcome;
    if (plan.skipped) this.logger.log(`${what}: tick ${at} skipped by its overlap policy (an earlier tick's workflow still runs)`);
    else if (plan.bufferedTick === tick) this.logger.log(`${what}: tick ${at} waits for the running workflow to end (overlap 'buffer-one')`);
    if (cancelled.length > 0) this.logger.log(`${what}: tick ${at} cancelled ${cancelled.join(', ')} (overlap 'cancel-other')`);
  }
}

function decoratorTarget(schedule: DecoratorSchedule): TickTarget {
  return { kind: 'decorator', workflowName: schedule.workflowName };
}

/** The arguments a runtime schedule stores for its workflow (after the scheduled time). */
function argsOf(schedule: ScheduleRow): unknown[] {
  return deserialize<unknown[]>(schedule.inputs);
}

/** A runtime schedule's workflow is called with `(scheduledTime, ...args)`. */
function runtimeRun(schedule: ScheduleRow, workflowId: string, tick: number, args: unknown[] = argsOf(schedule)): ScheduledRun {
  return {
    workflowId,
    workflowName: schedule.workflowName,
    inputs: serialize([new Date(tick), ...args], `the arguments of schedule "${schedule.name}"`),
    queueName: schedule.queueName ?? INTERNAL_QUEUE,
  };
}

function decoratorRun(schedule: DecoratorSchedule, tick: number, now: number): ScheduledRun {
  return {
    workflowId: decoratorTickId(schedule.workflowName, tick),
    workflowName: schedule.workflowName,
    inputs: serialize([new Date(tick), new Date(now)], `the arguments of @Scheduled ${schedule.workflowName}`),
    queueName: schedule.queue ?? INTERNAL_QUEUE,
  };
}
