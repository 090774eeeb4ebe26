import 'reflect-metadata';
import { Module, type INestApplicationContext, type Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DbosModule, type DbosModuleOptions } from '../../lib';
import { RunningWorkflows } from '../../lib/execution/running-workflows.table';
import { databaseOptions } from './database';
import { waitFor } from './wait';

/** A Nest app context with DbosModule on the test database and the given providers. */
export async function createDbosApp(providers: Provider[], options: DbosModuleOptions & { schema: string }): Promise<INestApplicationContext> {
  @Module({
    imports: [DbosModule.forRoot({ database: databaseOptions(), shutdownTimeoutMs: 2_000, ...options })],
    providers,
  })
  class TestAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [TestAppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.init();
  return app;
}

/**
 * Starts closing `app` and resolves once its shutdown has begun (it takes no new work; a step in
 * flight still runs): `closing` settles when the close is done.
 */
export async function beginClose(app: INestApplicationContext): Promise<{ closing: Promise<void> }> {
  const runs = app.get(RunningWorkflows);
  const closing = app.close();
  await waitFor(() => !runs.isAccepting, { what: 'the shutdown to begin' });
  return { closing };
}
