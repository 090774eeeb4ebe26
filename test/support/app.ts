import 'reflect-metadata';
import { Module, type INestApplicationContext, type Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DbosModule, type DbosModuleOptions } from '../../lib';
import { databaseUrl } from './database';

/** A Nest app context with DbosModule on the test database and the given providers. */
export async function createDbosApp(providers: Provider[], options: DbosModuleOptions & { schema: string }): Promise<INestApplicationContext> {
  @Module({
    imports: [DbosModule.forRoot({ database: { url: databaseUrl() }, shutdownTimeoutMs: 2_000, ...options })],
    providers,
  })
  class TestAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [TestAppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.init();
  return app;
}
