import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { ResolvedDbosOptions } from './dbos-options';
import { DbosConfigurationError } from './errors/configuration.error';
import { CheckpointRepository } from './system-database/checkpoint.repository';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './system-database/embedded-postgres';
import { SystemDatabase } from './system-database/system-database';
import { WorkflowStatusRepository } from './system-database/workflow-status.repository';

/** The module's open database: system tables, repositories, and where @Transaction runs. */
export class DbosDatabase {
  private constructor(
    readonly system: SystemDatabase,
    readonly statuses: WorkflowStatusRepository,
    readonly checkpoints: CheckpointRepository,
    readonly transactionDataSource: DataSource,
    private readonly embedded?: EmbeddedPostgresHandle,
  ) {}

  static async open(options: ResolvedDbosOptions): Promise<DbosDatabase> {
    const appDataSource = options.database?.dataSource;
    if (appDataSource && !appDataSource.isInitialized) {
      throw new DbosConfigurationError(
        'database.dataSource is not initialized. Pass the DataSource provided by TypeOrmModule, or call initialize() first.',
      );
    }
    let url = options.database?.url;
    let embedded: EmbeddedPostgresHandle | undefined;
    if (!url && !appDataSource) {
      new Logger('DbosModule').warn(
        'No database configured: starting an EMBEDDED Postgres under .dbos/ for DEVELOPMENT ONLY. ' +
          'Set database.url (or database.dataSource) in DbosModule.forRoot() for anything else.',
      );
      embedded = await startEmbeddedPostgres(options.embedded);
      url = embedded.url;
    }
    const system = await SystemDatabase.open({
      url,
      dataSource: url ? undefined : appDataSource,
      schema: options.schema,
      poolSize: options.database?.poolSize,
      runMigrations: options.runMigrations,
    }).catch(async (err) => {
      await embedded?.stop();
      throw err;
    });
    return new DbosDatabase(
      system,
      new WorkflowStatusRepository(system),
      new CheckpointRepository(system),
      appDataSource ?? system.dataSource,
      embedded,
    );
  }

  /** Closes what the module opened; an app's own DataSource is left alone. */
  async close(): Promise<void> {
    await this.system.close();
    await this.embedded?.stop();
  }
}
