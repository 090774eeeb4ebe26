import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DBOS_CLOCK, DBOS_RESOLVED_OPTIONS, DBOS_SYSTEM_DATABASE } from '../dbos.constants';
import { DbosModule } from '../dbos.module';
import type { ResolvedDbosOptions } from '../dbos.options';
import { DbosDatabase } from '../dbos.database';
import { DbosConfigurationError } from '../errors/configuration.error';
import type { DatabaseOptions, DbosModuleAsyncOptions, DbosModuleOptions, DbosOptionsFactory } from '../interfaces/dbos-module-options.interface';
import { DbosTestKit } from './dbos.test-kit';
import { TestClock } from './test.clock';

/**
 * `DbosModule.forRoot()` for a Nest testing module: a system schema of its own (dropped at
 * `app.close()`), on `DATABASE_URL` unless the options name a database (else the embedded
 * Postgres), the module's clock under the test's control, and the injectable DbosTestKit.
 */
@Module({})
export class DbosTestingModule {
  static forRoot(options: DbosModuleOptions = {}): DynamicModule {
    const schema = testSchema();
    return DbosTestingModule.assemble(DbosModule.forRoot(forTest(options, schema)), schema);
  }

  /**
   * `DbosModule.forRootAsync()` for a testing module, e.g. on the app's TypeORM DataSource
   * (`inject: [DataSource], useFactory: (dataSource) => ({ database: { dataSource } })`).
   */
  static forRootAsync(options: DbosModuleAsyncOptions): DynamicModule {
    const schema = testSchema();
    const factoryClass = options.useClass ?? options.useExisting;
    if (!options.useFactory && !factoryClass) {
      throw new DbosConfigurationError('DbosTestingModule.forRootAsync() needs one of useFactory, useClass or useExisting.');
    }
    const dbos = DbosModule.forRootAsync(
      options.useFactory
        ? { imports: options.imports, inject: options.inject, useFactory: async (...deps: unknown[]) => forTest(await options.useFactory!(...deps), schema) }
        : {
            imports: options.imports,
            inject: [factoryClass!],
            useFactory: async (factory: DbosOptionsFactory) => forTest(await factory.createDbosOptions(), schema),
          },
    );
    if (options.useClass) dbos.providers = [...(dbos.providers ?? []), { provide: options.useClass, useClass: options.useClass }];
    return DbosTestingModule.assemble(dbos, schema);
  }

  private static assemble(dbos: DynamicModule, schema: string): DynamicModule {
    const providers: Provider[] = [
      { provide: DBOS_CLOCK, useFactory: () => new TestClock() },
      {
        provide: DBOS_SYSTEM_DATABASE,
        useFactory: async (resolved: ResolvedDbosOptions, clock: TestClock) => {
          const database = await DbosDatabase.open(resolved, clock);
          if (resolved.schema === schema) dropSchemaAtClose(database);
          return database;
        },
        inject: [DBOS_RESOLVED_OPTIONS, DBOS_CLOCK],
      },
      DbosTestKit,
    ];
    return {
      module: DbosTestingModule,
      imports: [{ ...dbos, providers: [...(dbos.providers ?? []), ...providers], exports: [...(dbos.exports ?? []), DbosTestKit] }],
    };
  }
}

function testSchema(): string {
  return `dbos_test_${randomBytes(6).toString('hex')}`;
}

/** The options with a schema of the test's own (unless they name one) and DATABASE_URL when they name no database. */
function forTest(options: DbosModuleOptions, schema: string): DbosModuleOptions {
  const database: DatabaseOptions | undefined = options.database?.dataSource
    ? options.database
    : { ...options.database, url: options.database?.url ?? process.env.DATABASE_URL };
  return { ...options, schema: options.schema ?? schema, database };
}

/** Drops the schema the testing module made, on a connection of its own (the module's are closed by then). */
function dropSchemaAtClose(database: DbosDatabase): void {
  const config = database.system.connectionConfig('drop-test-schema');
  const schema = database.system.schema;
  database.onClosed(async () => {
    const client = new Client(config);
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
    } finally {
      await client.end();
    }
  });
}
