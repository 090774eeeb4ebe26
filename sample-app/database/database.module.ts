import { Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, appConfigFromEnv, type AppConfig } from '../app.config';
import { openAppDataSource } from './app-data-source';
import { DATABASE_SERVER, connectDatabaseServer, type DatabaseServer } from './database-server';
import { DatabaseShutdown } from './database.shutdown';

/**
 * Global, like TypeOrmModule's core module: Nest shuts global modules down last, in the reverse
 * of the order they were imported in, so importing this one before DbosModule keeps the database
 * up until DbosModule has closed its connections.
 */
@Global()
@Module({
  providers: [
    { provide: APP_CONFIG, useFactory: () => appConfigFromEnv() },
    { provide: DATABASE_SERVER, useFactory: connectDatabaseServer, inject: [APP_CONFIG] },
    {
      provide: DataSource,
      useFactory: (server: DatabaseServer, config: AppConfig) =>
        openAppDataSource(server.url, config.appSchema).catch(async (err: unknown) => {
          await server.stop();
          throw err;
        }),
      inject: [DATABASE_SERVER, APP_CONFIG],
    },
    DatabaseShutdown,
  ],
  exports: [APP_CONFIG, DataSource],
})
export class DatabaseModule {}
