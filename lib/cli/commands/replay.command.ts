import * as path from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WorkflowClient } from '../../client/workflow.client';
import { DbosNondeterminismError } from '../../errors/nondeterminism.error';
import { WorkflowReplayer } from '../../evolution/workflow.replayer';
import type { WorkflowStatusInfo } from '../../interfaces/workflow-status.interface';
import { optionalInteger, optionalMoment, requiredStringOption, stringOption } from '../cli.arguments';
import { CliError, ExitCode, type CommandContext, type CommandSpec, type ExitCodeValue } from '../command.interface';

/** Recorded workflows checked per status when no --limit is given. */
const DEFAULT_LIMIT = 1_000;
const REPLAYED_STATUSES = ['SUCCESS', 'ERROR', 'PENDING'] as const;

const replay: CommandSpec = {
  path: ['replay'],
  arity: { min: 0, max: 0 },
  summary: "Replay recorded workflows against the app's current code and print where it diverges",
  description:
    'Loads the app module in a mode that registers its workflows but runs no work (no recovery, queues, cron), on the ' +
    'database the module configures. Finished workflows must take exactly their recorded steps; PENDING ones must match up to where they stopped. No step runs and nothing is written. Exit 1 when a workflow diverges.',
  options: {
    module: { type: 'string', value: 'FILE', description: 'The compiled file exporting the app module. Required' },
    export: { type: 'string', value: 'NAME', description: 'Its export name. Default AppModule' },
    since: { type: 'string', value: 'WHEN', description: 'Only workflows created after: a time ago (7d, 12h) or an ISO date' },
    name: { type: 'string', value: 'W', description: 'Only workflows of this name' },
    limit: { type: 'string', value: 'N', description: `At most N workflows per status (SUCCESS, ERROR, PENDING), newest first. Default ${DEFAULT_LIMIT}` },
  },
  examples: ['nestjs-dbos replay --module dist/app.module.js --since 7d'],
  run: replayRecorded,
};

export const replayCommands: CommandSpec[] = [replay];

async function replayRecorded(ctx: CommandContext): Promise<ExitCodeValue> {
  const app = await loadApp(requiredStringOption(ctx, 'module'), stringOption(ctx, 'export') ?? 'AppModule');
  try {
    const replayer = app.get(WorkflowReplayer);
    const client = app.get(WorkflowClient);
    const filter = {
      workflowName: stringOption(ctx, 'name'),
      createdAfter: optionalMoment(ctx, 'since'),
      limit: optionalInteger(ctx, 'limit', 1) ?? DEFAULT_LIMIT,
    };
    let checked = 0;
    let diverged = 0;
    for (const status of REPLAYED_STATUSES) {
      for (const workflow of await client.list({ ...filter, status, sortDesc: true })) {
        checked++;
        const problem = await replayer.replay(workflow.workflowId).then(
          () => undefined,
          (err: unknown) => err as Error,
        );
        if (!problem) continue;
        diverged++;
        ctx.out.print(describeDivergence(workflow, problem));
      }
    }
    ctx.out.print(`Replayed ${checked} workflow(s): ${diverged === 0 ? 'all take their recorded steps' : `${diverged} diverge`}.`);
    return diverged === 0 ? ExitCode.Success : ExitCode.Failed;
  } finally {
    await app.close();
  }
}

function describeDivergence(workflow: WorkflowStatusInfo, problem: Error): string {
  const head = `DIVERGES ${workflow.workflowId} (${workflow.workflowName}, ${workflow.status})`;
  if (!(problem instanceof DbosNondeterminismError)) return `${head}: ${problem.message}`;
  const recorded = problem.recordedName ?? '(nothing: the recorded run had ended)';
  const called = problem.calledName ?? '(nothing: the new code ended first)';
  return `${head} at step ${problem.stepId}: recorded ${recorded}, new code calls ${called}`;
}

/** The app's module, in a Nest application context that registers workflows and runs no work. */
async function loadApp(file: string, exportName: string): Promise<INestApplicationContext> {
  process.env.DBOS_START_WORK = 'false';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(path.resolve(file)) as Record<string, unknown>;
  const module = loaded[exportName];
  if (typeof module !== 'function') {
    throw new CliError(
      `${file} has no export "${exportName}" (it exports ${Object.keys(loaded).join(', ') || 'nothing'}).`,
      ExitCode.Usage,
      'Name the module class with --export.',
    );
  }
  return NestFactory.createApplicationContext(module as new () => unknown, { logger: ['error', 'warn'] });
}
