import type { ScheduleInfo } from '../../interfaces/schedule.interface';
import { flag, parseMoment, requiredStringOption } from '../cli.arguments';
import type { CommandContext, CommandSpec, OptionSpec } from '../command.interface';
import { formatDate, renderTable, toJson } from '../cli.format';

const json: OptionSpec = { type: 'boolean', description: 'Print JSON instead of text' };

const list: CommandSpec = {
  path: ['schedules', 'list'],
  arity: { min: 0, max: 0 },
  summary: 'List the runtime schedules (created with ScheduleClient)',
  description: '@Scheduled methods are not listed: they live in the code.',
  options: { json: { type: 'boolean', description: 'Print a JSON array of the schedules' } },
  run: listSchedules,
};

/** One command per name-taking call of ScheduleClient: pause, resume, trigger. */
const byName = (verb: 'pause' | 'resume' | 'trigger', summary: string, done: (name: string, result: string | void) => string): CommandSpec => ({
  path: ['schedules', verb],
  args: 'NAME',
  arity: { min: 1, max: 1 },
  summary,
  options: {},
  run: async (ctx) => {
    const [name] = ctx.args;
    const result = await (await ctx.client()).schedules[verb](name);
    ctx.out.print(done(name, result));
  },
});

const pause = byName('pause', 'Pause a schedule: no tick starts until it is resumed', (name) => `Paused schedule "${name}"`);
const resume = byName('resume', 'Resume a paused schedule from its next tick (backfill runs the ticks it missed)', (name) => `Resumed schedule "${name}"`);
const trigger = byName('trigger', "Start one run of a schedule's workflow now; prints its workflow id", (_name, workflowId) => String(workflowId));

const backfill: CommandSpec = {
  path: ['schedules', 'backfill'],
  args: 'NAME',
  arity: { min: 1, max: 1 },
  options: {
    from: { type: 'string', value: 'WHEN', description: 'First moment of the range: an ISO date, or a time ago (30m, 2h, 7d)' },
    to: { type: 'string', value: 'WHEN', description: 'Last moment of the range (default now)' },
    json,
  },
  summary: 'Start the ticks of a time range that have no workflow yet; prints their workflow ids',
  description: 'Idempotent: a tick whose workflow exists (run by the schedule or an earlier backfill) is not started again.',
  examples: ['nestjs-dbos schedules backfill nightly-report --from 3d', 'nestjs-dbos schedules backfill hourly --from 2026-01-01 --to 2026-01-02'],
  run: backfillSchedule,
};

export const scheduleCommands: CommandSpec[] = [list, pause, resume, trigger, backfill];

async function listSchedules(ctx: CommandContext): Promise<void> {
  const schedules = await (await ctx.client()).schedules.list();
  ctx.out.print(flag(ctx, 'json') ? toJson(schedules) : scheduleTable(schedules));
}

function scheduleTable(schedules: ScheduleInfo[]): string {
  if (schedules.length === 0) return 'No runtime schedule.';
  return renderTable(
    ['NAME', 'CRON', 'TIMEZONE', 'WORKFLOW', 'OVERLAP', 'STATE', 'LAST TICK', 'NEXT TICK', 'SKIPPED'],
    schedules.map((s) => [
      s.name,
      s.cron,
      s.timezone,
      s.workflowName,
      s.overlap,
      s.paused ? 'paused' : 'active',
      formatDate(s.lastTick),
      formatDate(s.nextTick),
      String(s.skippedTicks),
    ]),
  );
}

async function backfillSchedule(ctx: CommandContext): Promise<void> {
  const from = parseMoment(requiredStringOption(ctx, 'from'), 'from', ctx.now);
  const to = typeof ctx.options.to === 'string' ? parseMoment(ctx.options.to, 'to', ctx.now) : ctx.now;
  const result = await (await ctx.client()).schedules.backfill(ctx.args[0], from, to);
  if (flag(ctx, 'json')) return ctx.out.print(toJson(result));
  ctx.out.print([...result.started, `Started ${result.started.length} tick(s); ${result.existing} of the range had a workflow already.`].join('\n'));
}
