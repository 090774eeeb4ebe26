import { ChildApp } from './child-app';
import { databaseUrl, sql } from './database';
import { freePort } from './ports';

/**
 * The sample app as `npm start` runs it (sample-app/main.ts in a process group of its own), on the
 * test database with its two schemas, plus `env`; resolves once it listens. `started` receives
 * the child at once, so the caller can kill it even when it never gets that far.
 */
export async function startSampleApp(
  schemas: { dbosSchema: string; appSchema: string },
  env: Record<string, string | undefined>,
  started: (app: ChildApp) => void,
): Promise<{ app: ChildApp; baseUrl: string }> {
  await sql(`CREATE SCHEMA IF NOT EXISTS "${schemas.appSchema}"`);
  const app = ChildApp.run('sample-app/main.ts', {
    env: { PORT: String(await freePort()), DATABASE_URL: databaseUrl(), DBOS_SCHEMA: schemas.dbosSchema, APP_SCHEMA: schemas.appSchema, ...env },
    detached: true,
  });
  started(app);
  const [, baseUrl] = await app.waitForOutput(/listening on (http:\/\/localhost:\d+)/, 120_000);
  return { app, baseUrl };
}
