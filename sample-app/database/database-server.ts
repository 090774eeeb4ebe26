import { Logger } from '@nestjs/common';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from 'nestjs-dbos';
import type { AppConfig } from '../app.config';

/** The Postgres server the app talks to, and how to stop it if the app started it. */
export type DatabaseServer = Pick<EmbeddedPostgresHandle, 'url' | 'stop'>;

export const DATABASE_SERVER = Symbol('DATABASE_SERVER');

/** DATABASE_URL when it is set; else an embedded Postgres (data in `.dbos/pgdata`, port 54329, unless it logs otherwise). */
export async function connectDatabaseServer(config: AppConfig): Promise<DatabaseServer> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: async () => undefined };
  const logger = new Logger('Database');
  logger.warn('DATABASE_URL is not set: using an EMBEDDED Postgres, for development only (where its data lives is logged next).');
  return startEmbeddedPostgres({ log: (message) => logger.warn(message) });
}
