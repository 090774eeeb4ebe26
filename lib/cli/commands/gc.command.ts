import { parseMoment, requiredStringOption } from '../cli.arguments';
import type { CommandContext, CommandSpec } from '../command.interface';

const gc: CommandSpec = {
  path: ['gc'],
  arity: { min: 0, max: 0 },
  summary: 'Delete finished workflows created before a cutoff, with their steps, events, streams and messages',
  description: 'Finished means SUCCESS, ERROR, CANCELLED or MAX_RECOVERY_ATTEMPTS_EXCEEDED; unfinished workflows are kept whatever their age.',
  options: {
    'older-than': { type: 'string', value: 'WHEN', description: 'Cutoff: a time ago (30d, 12h) or an ISO date. Required' },
  },
  examples: ['nestjs-dbos gc --older-than 30d'],
  run: collectGarbage,
};

export const gcCommands: CommandSpec[] = [gc];

async function collectGarbage(ctx: CommandContext): Promise<void> {
  const cutoff = parseMoment(requiredStringOption(ctx, 'older-than'), 'older-than', ctx.now);
  const deleted = await (await ctx.client()).deleteOlderThan(cutoff);
  ctx.out.print(`Deleted ${deleted} finished workflow${deleted === 1 ? '' : 's'} created before ${cutoff.toISOString()}.`);
}
