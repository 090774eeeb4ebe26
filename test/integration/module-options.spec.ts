import { SYSTEM_MIGRATIONS } from '../../migrations';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  DbosConfigurationError,
  DbosDatabaseUnavailableError,
  DbosModule,
  Workflow,
  WorkflowClient,
  type DbosModuleOptions,
  type DbosOptionsFactory,
} from '../../lib';
import { SystemDatabase } from '../../lib/system-database/system.database';
import { databaseUrl, dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';

@Injectable()
class Greeter {
  @Workflow() async greet(name: string): Promise<string> {
    return `hello ${name}`;
  }
}

const schema = uniqueSchema('opts');

@Injectable()
class ConfigService {
  get(): DbosModuleOptions {
    return { database: databaseOptions(), schema };
  }
}

@Module({ providers: [ConfigService], exports: [ConfigService] })
class ConfigModule {}

@Injectable()
class DbosConfig implements DbosOptionsFactory {
  createDbosOptions(): DbosModuleOptions {
    return { database: databaseOptions(), schema };
  }
}

@Module({ providers: [DbosConfig], exports: [DbosConfig] })
class DbosConfigModule {}

async function greetWith(dbosModule: ReturnType<typeof DbosModule.forRootAsync>): Promise<string> {
  @Module({ imports: [dbosModule], providers: [Greeter] })
  class AppModule {}
  const app = await (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({ logger: false }).init();
  try {
    const result = await app.get(Greeter).greet('nest');
    expect((await app.get(WorkflowClient).list({ workflowName: 'Greeter.greet' })).length).toBeGreaterThan(0);
    return result;
  } finally {
    await app.close();
  }
}

describe('DbosModule options', () => {
  afterAll(() => dropSchema(schema));

  it('forRootAsync with useFactory and inject', async () => {
    const dbos = DbosModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (config: ConfigService) => config.get() });
    await expect(greetWith(dbos)).resolves.toBe('hello nest');
  });

  it('forRootAsync with useClass', async () => {
    await expect(greetWith(DbosModule.forRootAsync({ useClass: DbosConfig }))).resolves.toBe('hello nest');
  });

  it('forRootAsync with useExisting', async () => {
    await expect(greetWith(DbosModule.forRootAsync({ imports: [DbosConfigModule], useExisting: DbosConfig }))).resolves.toBe('hello nest');
  });

  it('forRootAsync without a factory fails loudly', () => {
    expect(() => DbosModule.forRootAsync({})).toThrow(DbosConfigurationError);
    expect(() => DbosModule.forRootAsync({})).toThrow(/useFactory, useClass or useExisting/);
  });

  it('rejects a schema name that is not a plain identifier', async () => {
    await expect(SystemDatabase.open({ url: databaseUrl(), schema: 'dbos"; DROP TABLE x; --', runMigrations: true })).rejects.toThrow(DbosConfigurationError);
  });

  it('an unreachable database is DbosDatabaseUnavailableError naming the URL without its password', async () => {
    const error = await SystemDatabase.open({
      url: 'postgres://app:s3cret@127.0.0.1:1/app',
      schema,
      runMigrations: true,
      startupRetryMs: 0,
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(DbosDatabaseUnavailableError);
    expect((error as Error).message).toContain('postgres://app:***@127.0.0.1:1/app');
    expect((error as Error).message).not.toContain('s3cret');
  });
});

describe('system schema migrations', () => {
  const migrated = uniqueSchema('mig');
  afterAll(() => dropSchema(migrated));

  it('concurrent starts (separate pools) apply each migration exactly once', async () => {
    const opened = await Promise.all(
      Array.from({ length: 4 }, () => SystemDatabase.open({ url: databaseUrl(), schema: migrated, runMigrations: true, poolSize: 2 })),
    );
    await Promise.all(opened.map((db) => db.close()));
    const rows = await sql<{ name: string }>(`SELECT name FROM "${migrated}".migrations`);
    expect(rows.map((r) => r.name)).toEqual(SYSTEM_MIGRATIONS.map((m) => m.name));
    const tables = await sql<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [
      migrated,
    ]);
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['migrations', 'operation_outputs', 'workflow_status']));
  });

  it('without runMigrations a missing schema is a clear error', async () => {
    const error = await SystemDatabase.open({ url: databaseUrl(), schema: uniqueSchema('none'), runMigrations: false }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(DbosConfigurationError);
    expect((error as Error).message).toMatch(/has no workflow tables.*runMigrations: true/);
  });

  it("without runMigrations a schema missing this version's newest migration is a clear error, for the app and a client", async () => {
    const older = uniqueSchema('older');
    try {
      await (await SystemDatabase.open({ url: databaseUrl(), schema: older, runMigrations: true })).close();
      const newest = SYSTEM_MIGRATIONS[SYSTEM_MIGRATIONS.length - 1].name;
      await sql(`DELETE FROM "${older}".migrations WHERE name = $1`, [newest]);
      const error = await SystemDatabase.open({ url: databaseUrl(), schema: older, runMigrations: false }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(DbosConfigurationError);
      expect((error as Error).message).toContain(`lacks migrations of this version of nestjs-dbos (${newest} is not applied)`);
      expect((error as Error).message).toContain('npx nestjs-dbos migrate');
      await expect(WorkflowClient.connect({ database: { url: databaseUrl() }, schema: older })).rejects.toThrow(/lacks migrations of this version/);
    } finally {
      await dropSchema(older);
    }
  });
});
