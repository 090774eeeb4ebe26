import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DBOS_CLOCK, DBOS_RESOLVED_OPTIONS, DBOS_SYSTEM_DATABASE } from '../dbos.constants';
import { DbosModule } from '../dbos.module';
import type { ResolvedDbosOptions } from '../dbos.options';
import { DbosDatabase } from '../dbos.database';
import type { DatabaseOptions, DbosModuleOptions } from '../interfaces/dbos-module-options.interface';
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
    const database: DatabaseOptions | undefined = options.database?.dataSource
      ? options.database
      : { ...options.database, url: options.database?.url ?? process.env.DATABASE_URL };
    const dbos = DbosModule.forRoot({ ...options, schema: options.schema ?? `dbos_test_${randomBytes(6).toString('hex')}`, database });
    const providers: Provider[] = [
      { provide: DBOS_CLOCK, useFactory: () => new TestClock() },
      {
        provide: DBOS_SYSTEM_DATABASE,
        useFactory: async (resolved: ResolvedDbosOptions, clock: TestClock) => {
          const database = await DbosDatabase.open(resolved, clock);
          if (!options.schema) dropSchemaAtClose(database);
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
