import type { QueueStats } from '../../system-database/queue.repository';
import { flag } from '../cli.arguments';
import type { CommandContext, CommandSpec } from '../command.interface';
import { renderTable, toJson } from '../cli.format';

const queues: CommandSpec = {
  path: ['queues'],
  arity: { min: 0, max: 0 },
  summary: 'Show how many workflows wait (ENQUEUED) and run (PENDING) on each queue',
  description: 'Queues without waiting or running workflows are not shown.',
  options: { json: { type: 'boolean', description: 'Print a JSON array of { queue, enqueued, running }' } },
  run: showQueues,
};

export const queueCommands: CommandSpec[] = [queues];

async function showQueues(ctx: CommandContext): Promise<void> {
  const stats = await (await ctx.client()).queueStats();
  ctx.out.print(flag(ctx, 'json') ? toJson(stats) : queueTable(stats));
}

function queueTable(stats: QueueStats[]): string {
  if (stats.length === 0) return 'No queue has waiting or running workflows.';
  return renderTable(
    ['QUEUE', 'ENQUEUED', 'RUNNING'],
    stats.map((s) => [s.queue, String(s.enqueued), String(s.running)]),
  );
}
