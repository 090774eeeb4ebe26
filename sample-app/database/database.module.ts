import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, appConfigFromEnv } from '../app.config';
import { DATABASE_SERVER, connectDatabaseServer } from './database-server';
import { DatabaseShutdown } from './database.shutdown';

/**
 * The Postgres server (DATABASE_URL, or an embedded one). Global, like TypeOrmModule's core
 * module: Nest shuts global modules down last, in the reverse of the order they were imported
 * in, so importing this one first keeps the server up until TypeOrmModule has closed the
 * DataSource, which it does after DbosModule has closed its connections.
 */
@Global()
@Module({
  providers: [
    { provide: APP_CONFIG, useFactory: () => appConfigFromEnv() },
    { provide: DATABASE_SERVER, useFactory: connectDatabaseServer, inject: [APP_CONFIG] },
    DatabaseShutdown,
  ],
  exports: [APP_CONFIG, DATABASE_SERVER],
})
export class DatabaseModule {}
