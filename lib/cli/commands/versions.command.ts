import { VersionAdoptionRepository } from '../../system-database/version-adoption.repository';
import { optionalInteger, parseDuration, stringOption } from '../cli.arguments';
import { openSystemDatabase } from '../cli.connection';
import type { CommandContext, CommandSpec } from '../command.interface';

const versions: CommandSpec = {
  path: ['versions'],
  arity: { min: 0, max: 0 },
  summary: 'Application versions with their PENDING workflows and live executors; the workflows no executor will run, with how to move them',
  description:
    'An executor of a new version adopts the PENDING workflows of a version with no live executor when they replay cleanly on its code. ' +
    'Those still listed here diverge from every running version (each was logged with its step): fork them onto a running version ' +
    'from the step where they diverge, or cancel them.',
  options: {
    lease: { type: 'string', value: 'DURATION', description: 'Executors silent this long count as gone. Default 30s (the default executorLeaseMs)' },
    limit: { type: 'string', value: 'N', description: 'At most N stranded workflows listed. Default 100' },
  },
  examples: ['nestjs-dbos versions'],
  run: showVersions,
};

export const versionCommands: CommandSpec[] = [versions];

async function showVersions(ctx: CommandContext): Promise<void> {
  const leaseMs = parseDuration(stringOption(ctx, 'lease') ?? '30s', 'lease');
  const db = await openSystemDatabase(ctx.connection(), false);
  try {
    const repository = new VersionAdoptionRepository(db);
    const all = await repository.versions(leaseMs);
    const live = all.filter((v) => v.liveExecutors > 0).map((v) => v.applicationVersion);
    for (const v of all) ctx.out.print(`${v.applicationVersion}  ${v.pending} PENDING  ${v.liveExecutors} live executor(s)`);
    const stranded = await repository.strandedAll(leaseMs, optionalInteger(ctx, 'limit', 1) ?? 100);
    if (stranded.length === 0) return;
    ctx.out.print(`\n${stranded.length} PENDING workflow(s) of versions no live executor runs:`);
    const target = live[0] ?? 'VERSION';
    for (const row of stranded) {
      ctx.out.print(`${row.workflowId}  ${row.workflowName}  version ${row.applicationVersion}`);
      ctx.out.print(`  nestjs-dbos workflows fork ${row.workflowId} --from-step N --app-version ${target}   # N: the step it diverges at (logged)`);
      ctx.out.print(`  nestjs-dbos workflows cancel ${row.workflowId}`);
    }
  } finally {
    await db.close();
  }
}
