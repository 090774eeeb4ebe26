import { DbosConfigurationError } from '../../errors/configuration.error';
import type { SystemDatabase } from '../../system-database/system.database';
import type { CommandContext, CommandSpec, ConnectionSettings } from '../command.interface';
import { openSystemDatabase } from '../cli.connection';

const migrate: CommandSpec = {
  path: ['migrate'],
  arity: { min: 0, max: 0 },
  summary: 'Create the system schema, or bring it up to date',
  description:
    'Applies the pending migrations of the system tables in one transaction. Safe while apps run and from ' + 'several processes at once (they take turns).',
  options: {},
  examples: ['nestjs-dbos migrate --schema dbos'],
  run: applyMigrations,
};

export const migrateCommands: CommandSpec[] = [migrate];

async function applyMigrations(ctx: CommandContext): Promise<void> {
  const settings = ctx.connection();
  const applied = await migrateSchema(settings);
  ctx.out.print(
    applied.length === 0
      ? `System schema "${settings.schema}" is up to date.`
      : `Applied ${applied.length} migration${applied.length === 1 ? '' : 's'} to system schema "${settings.schema}": ${applied.join(', ')}`,
  );
}

/** Names of the migrations applied now. */
async function migrateSchema(settings: ConnectionSettings): Promise<string[]> {
  const existing = await openExisting(settings);
  if (existing) return closing(existing, (db) => db.migrate());
  // A schema without tables gets all of them: every migration recorded now was applied now.
  return closing(await openSystemDatabase(settings, true), recordedMigrations);
}

async function openExisting(settings: ConnectionSettings): Promise<SystemDatabase | null> {
  try {
    return await openSystemDatabase(settings, false);
  } catch (err) {
    if (err instanceof DbosConfigurationError) return null;
    throw err;
  }
}

async function recordedMigrations(db: SystemDatabase): Promise<string[]> {
  const rows = await db.query<{ name: string }>('SELECT name FROM {schema}.migrations ORDER BY id');
  return rows.map((row) => row.name);
}

async function closing<T>(db: SystemDatabase, work: (db: SystemDatabase) => Promise<T>): Promise<T> {
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}
