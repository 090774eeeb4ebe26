import { flag, parseDuration } from '../cli.arguments';
import { UsageError, type CommandContext, type CommandSpec } from '../command.interface';

const remove: CommandSpec = {
  path: ['workflows', 'delete'],
  args: 'ID',
  arity: { min: 1, max: 1 },
  summary: 'Delete a finished workflow and everything it owns',
  description:
    'Deletes the workflow with its steps, events, streams, the messages sent to it and their idempotency keys. ' +
    'A workflow still ENQUEUED or PENDING is refused (exit 1) unless --force, which cancels it first (its runner stops) and then deletes it.',
  options: {
    children: { type: 'boolean', description: 'Also delete its child workflows, and theirs' },
    force: { type: 'boolean', description: 'Delete it whatever its status: an unfinished workflow is cancelled first' },
  },
  examples: ['nestjs-dbos workflows delete order-42 --children', 'nestjs-dbos workflows delete stuck-7 --force'],
  run: deleteWorkflow,
};

const setPriority: CommandSpec = {
  path: ['workflows', 'set-priority'],
  args: 'ID PRIORITY',
  arity: { min: 2, max: 2 },
  summary: 'Change the priority of a workflow waiting on its queue (lower runs first)',
  description: 'Only while the workflow is ENQUEUED (exit 1 after its queue started it); it counts on queues declared with priorityEnabled.',
  options: {},
  examples: ['nestjs-dbos workflows set-priority order-42 1'],
  run: changePriority,
};

const setDelay: CommandSpec = {
  path: ['workflows', 'set-delay'],
  args: 'ID DELAY',
  arity: { min: 2, max: 2 },
  summary: 'Make a workflow waiting on its queue start no earlier than DELAY from now',
  description: 'DELAY is a duration (0s to start it as soon as its queue has room, 30s, 5m, 2h). Only while the workflow is ENQUEUED (exit 1 after).',
  options: {},
  examples: ['nestjs-dbos workflows set-delay order-42 10m', 'nestjs-dbos workflows set-delay order-42 0s'],
  run: changeDelay,
};

export const workflowEditCommands: CommandSpec[] = [remove, setPriority, setDelay];

async function deleteWorkflow(ctx: CommandContext): Promise<void> {
  const deleted = await (await ctx.client()).delete(ctx.args[0], { children: flag(ctx, 'children'), force: flag(ctx, 'force') });
  ctx.out.print(deleted.length === 1 ? `Deleted ${deleted[0]}` : `Deleted ${deleted.length} workflows: ${deleted.join(', ')}`);
}

async function changePriority(ctx: CommandContext): Promise<void> {
  const [workflowId, text] = ctx.args;
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`PRIORITY "${text}" must be a whole number (lower runs first).`);
  await (await ctx.client()).setPriority(workflowId, Number(text));
  ctx.out.print(`Priority of ${workflowId} is now ${Number(text)}`);
}

async function changeDelay(ctx: CommandContext): Promise<void> {
  const [workflowId, text] = ctx.args;
  let delayMs: number;
  try {
    delayMs = parseDuration(text, 'DELAY');
  } catch (err) {
    throw new UsageError((err as Error).message.replace('--DELAY', 'DELAY'));
  }
  await (await ctx.client()).setDelay(workflowId, delayMs);
  ctx.out.print(delayMs === 0 ? `${workflowId} may start now` : `${workflowId} starts no earlier than ${new Date(Date.now() + delayMs).toISOString()}`);
}
