import { Logger } from '@nestjs/common';
import type { Cron } from 'croner';
import type { Schedule, WorkflowRegistry } from '../discovery/workflow.registry';
import type { WorkflowExecutor } from '../execution/workflow.executor';
import type { SchedulerRepository } from '../system-database/scheduler.repository';
import { decoratorTickId } from '../schedules/schedule.definition';
import type { TickStarter } from '../schedules/tick.starter';
import { missedTicks, parseCron } from './cron.parser';

const DEFAULT_MAX_CATCH_UP = 100;

/**
 * Starts each @Scheduled workflow once per tick. Every process runs the same timers; the tick is
 * the workflow id (`sched-<name>-<ISO time>`), so however many processes fire, one workflow runs.
 * With an overlap policy other than 'allow', the tick is decided against the database instead
 * (TickStarter) and enqueued, so the policy holds across processes.
 */
export class WorkflowScheduler {
  private readonly logger = new Logger(WorkflowScheduler.name);
  private readonly timers = new Set<() => void>();
  private stopped = true;

  constructor(
    private readonly registry: WorkflowRegistry,
    private readonly executor: WorkflowExecutor,
    private readonly state: SchedulerRepository,
    private readonly ticks: TickStarter,
  ) {}

  /** Ticks are workflow time. */
  private get clock() {
    return this.executor.clock;
  }

  async start(): Promise<void> {
    this.stopped = false;
    for (const schedule of this.registry.schedules()) {
      const cron = parseCron(schedule.cron, schedule.options, schedule.registration.name);
      if (schedule.options.catchUp) {
        await this.catchUp(schedule, cron).catch((err: Error) =>
          this.logger.error(`Catch-up of ${schedule.registration.name} failed: ${err.message}`, err.stack),
        );
      }
      this.scheduleNext(schedule, cron, new Date(this.clock.now()));
    }
  }

  stop(): void {
    this.stopped = true;
    for (const cancel of this.timers) cancel();
    this.timers.clear();
  }

  /** Starts the ticks missed since the last recorded one (bounded), oldest first. */
  private async catchUp(schedule: Schedule, cron: Cron): Promise<void> {
    const last = await this.state.lastTick(schedule.registration.name);
    if (last === null) return;
    const max = typeof schedule.options.catchUp === 'number' ? schedule.options.catchUp : DEFAULT_MAX_CATCH_UP;
    const missed = missedTicks(cron, new Date(last), new Date(this.clock.now()), max);
    if (missed.length === 0) return;
    this.logger.log(`Catching up ${missed.length} missed tick(s) of ${schedule.registration.name}`);
    for (const tick of missed) await this.fire(schedule, tick);
  }

  private scheduleNext(schedule: Schedule, cron: Cron, after: Date): void {
    if (this.stopped) return;
    const tick = cron.nextRun(after);
    if (!tick) return;
    const cancel = this.clock.schedule(tick.getTime(), () => {
      this.timers.delete(cancel);
      void this.fire(schedule, tick).finally(() => this.scheduleNext(schedule, cron, tick));
    });
    this.timers.add(cancel);
  }

  private async fire(schedule: Schedule, tick: Date): Promise<void> {
    if (this.stopped || !this.executor.isAccepting) return;
    const { registration, options } = schedule;
    try {
      if (options.overlap !== undefined && options.overlap !== 'allow') {
        const decorator = { workflowName: registration.name, overlap: options.overlap, queue: options.queue };
        await this.ticks.fireDecorator(decorator, tick.getTime(), this.clock.now());
        return;
      }
      await this.executor.startWorkflow(registration, [tick, new Date(this.clock.now())], {
        workflowId: decoratorTickId(registration.name, tick.getTime()),
        queue: options.queue,
      });
      await this.state.recordTick(registration.name, tick.getTime());
    } catch (err) {
      this.logger.error(`Could not start ${registration.name} for ${tick.toISOString()}: ${(err as Error).message}`, (err as Error).stack);
    }
  }
}
