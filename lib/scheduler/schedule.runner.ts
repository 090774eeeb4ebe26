import { Logger } from '@nestjs/common';
import type { WorkflowClock } from '../common/clock';
import { decoratorWorkflowOf, runtimeScheduleOf, scheduleCron } from '../schedules/schedule.definition';
import type { DecoratorSchedule, TickStarter } from '../schedules/tick.starter';
import type { NotificationListener } from '../system-database/notification.listener';
import type { ScheduleRepository, ScheduleRow } from '../system-database/schedule.repository';
import { NOTICE_PREFIX } from '../system-database/system.names';

/** A re-read of every schedule while LISTEN works, in case a notification was lost; without LISTEN, the listener's poll does it. */
const SAFETY_RELOAD_MS = 10_000;

interface Armed {
  row: ScheduleRow;
  cancel: () => void;
}

/** What arms a timer: a change of anything else (args, queue, overlap) is read at the tick. */
const timing = (row: ScheduleRow) => `${row.cron}\0${row.timezone}\0${row.paused}`;

/**
 * Fires the ticks of the runtime schedules in this process, and starts the ticks 'buffer-one'
 * schedules (runtime and `@Scheduled`) hold back once their running workflow ends. Every process
 * does the same; TickStarter's decision against the database makes each tick start once. A
 * change made anywhere arrives as `schedule:<name>` (re-read at once); a lost notification, or no
 * LISTEN at all behind a transaction pooler, is made up for by re-reading every schedule.
 */
export class ScheduleRunner {
  private readonly logger = new Logger(ScheduleRunner.name);
  private readonly armed = new Map<string, Armed>();
  private stopped = true;
  private subscribed = false;
  private safetyTimer?: NodeJS.Timeout;
  private reloading?: Promise<void>;

  constructor(
    private readonly repository: ScheduleRepository,
    private readonly ticks: TickStarter,
    private readonly listener: NotificationListener,
    private readonly clock: WorkflowClock,
    private readonly isAccepting: () => boolean,
    /** `@Scheduled` workflows with overlap 'buffer-one' (read at start: the explorer fills the registry at init). */
    private readonly decoratorsThatBuffer: () => DecoratorSchedule[],
  ) {}

  private bufferedDecorators: DecoratorSchedule[] = [];

  async start(): Promise<void> {
    this.stopped = false;
    this.bufferedDecorators = this.decoratorsThatBuffer();
    if (!this.subscribed) {
      this.subscribed = true;
      this.listener.onAny((key) => this.heard(key));
      this.listener.onReconnect(() => void this.reloadAll());
      this.listener.onPoll(() => void this.reloadAll());
    }
    await this.reloadAll();
    this.safetyTimer = setInterval(() => void this.reloadAll(), SAFETY_RELOAD_MS);
    this.safetyTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.safetyTimer);
    for (const armed of this.armed.values()) armed.cancel();
    this.armed.clear();
  }

  private heard(key: string): void {
    if (this.stopped) return;
    if (key.startsWith(NOTICE_PREFIX.schedule)) {
      void this.reload(key.slice(NOTICE_PREFIX.schedule.length));
      return;
    }
    if (!key.startsWith(NOTICE_PREFIX.status)) return;
    // A workflow of a schedule ended: a tick it held back may start now.
    const workflowId = key.slice(NOTICE_PREFIX.status.length);
    const runtime = runtimeScheduleOf(workflowId);
    if (runtime !== undefined && this.armed.get(runtime)?.row.overlap === 'buffer-one') void this.startBuffered(runtime);
    const decorated = decoratorWorkflowOf(workflowId);
    const decorator = decorated === undefined ? undefined : this.bufferedDecorators.find((d) => d.workflowName === decorated);
    if (decorator) void this.startBufferedDecorator(decorator);
  }

  /** Re-reads every schedule (one at a time: a slow database must not pile these up). */
  private reloadAll(): Promise<void> {
    this.reloading ??= this.readAll().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async readAll(): Promise<void> {
    if (this.stopped) return;
    try {
      const rows = await this.repository.list();
      const names = new Set(rows.map((r) => r.name));
      for (const name of [...this.armed.keys()]) if (!names.has(name)) this.apply(name, null);
      for (const row of rows) {
        this.apply(row.name, row);
        if (row.bufferedTick !== null) await this.startBuffered(row.name);
      }
      const decorators = this.bufferedDecorators.map((d) => d.workflowName);
      const holding = decorators.length > 0 ? await this.repository.decoratorsWithBufferedTick(decorators) : [];
      for (const decorator of this.bufferedDecorators.filter((d) => holding.includes(d.workflowName))) await this.startBufferedDecorator(decorator);
    } catch (err) {
      this.logger.error(`Could not read the schedules: ${(err as Error).message}`, (err as Error).stack);
    }
  }

  private async reload(name: string): Promise<void> {
    try {
      const row = await this.repository.get(name);
      this.apply(name, row);
      if (row?.bufferedTick != null) await this.startBuffered(name); // resumed with a tick held back
    } catch (err) {
      this.logger.error(`Could not read schedule "${name}": ${(err as Error).message}`, (err as Error).stack);
    }
  }

  /** Arms, re-arms or disarms the schedule's timer after a read of its row (null: deleted). */
  private apply(name: string, row: ScheduleRow | null): void {
    if (this.stopped) return;
    const current = this.armed.get(name);
    if (current && row && timing(current.row) === timing(row)) {
      current.row = row;
      return;
    }
    current?.cancel();
    this.armed.delete(name);
    if (row && !row.paused) this.arm(row, this.clock.now());
  }

  private arm(row: ScheduleRow, after: number): void {
    let next: Date | null;
    try {
      next = scheduleCron(row.cron, row.timezone, `Schedule "${row.name}"`).nextRun(new Date(after));
    } catch (err) {
      this.logger.error((err as Error).message);
      return;
    }
    if (!next) return;
    const tick = next.getTime();
    const entry: Armed = {
      row,
      cancel: this.clock.schedule(tick, () => {
        void this.fire(row.name, tick).finally(() => {
          // Unless the schedule was changed, paused or deleted meanwhile (then it was re-armed or dropped).
          if (!this.stopped && this.armed.get(row.name) === entry) this.arm(entry.row, tick);
        });
      }),
    };
    this.armed.set(row.name, entry);
  }

  private fire(name: string, tick: number): Promise<void> {
    return this.guarded(`start schedule "${name}" for ${new Date(tick).toISOString()}`, () => this.ticks.fireRuntime(name, tick));
  }

  private startBuffered(name: string): Promise<void> {
    return this.guarded(`start the held-back tick of schedule "${name}"`, () => this.ticks.startBufferedRuntime(name));
  }

  private startBufferedDecorator(schedule: DecoratorSchedule): Promise<void> {
    return this.guarded(`start the held-back tick of @Scheduled ${schedule.workflowName}`, () => this.ticks.startBufferedDecorator(schedule));
  }

  /** Runs a decision unless this process stopped taking work; a failure is logged (the next tick, wake or re-read tries again). */
  private async guarded(what: string, decide: () => Promise<unknown>): Promise<void> {
    if (this.stopped || !this.isAccepting()) return;
    try {
      await decide();
    } catch (err) {
      this.logger.error(`Could not ${what}: ${(err as Error).message}`, (err as Error).stack);
    }
  }
}
