import { Logger } from '@nestjs/common';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../lib';
import type { AppConfig } from '../app.config';

/** The Postgres server the app talks to, and how to stop it if the app started it. */
export type DatabaseServer = EmbeddedPostgresHandle;

export const DATABASE_SERVER = Symbol('DATABASE_SERVER');

/** DATABASE_URL when it is set; else an embedded Postgres under `.dbos/pgdata` on port 54329. */
export async function connectDatabaseServer(config: AppConfig): Promise<DatabaseServer> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: async () => undefined };
  const logger = new Logger('Database');
  logger.warn('DATABASE_URL is not set: using an EMBEDDED Postgres under .dbos/pgdata (port 54329), for development only.');
  return startEmbeddedPostgres({ log: (message) => logger.warn(message) });
}
