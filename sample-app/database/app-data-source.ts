import type { TypeOrmModuleAsyncOptions, TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { Shipment } from '../shipping/shipment.entity';
import { Stock } from '../stock/stock.entity';
import { APP_CONFIG, type AppConfig } from '../app.config';
import { DATABASE_SERVER, type DatabaseServer } from './database-server';

/**
 * The app's TypeORM options. DbosModule runs `@Transaction` steps on the resulting DataSource and
 * keeps its system tables in the same database, so a stock update commits together with its checkpoint.
 */
export function appDataSourceOptions(url: string, schema: string): TypeOrmModuleOptions {
  return { type: 'postgres', url, schema, entities: [Stock, Shipment], synchronize: true, retryAttempts: 3 };
}

/** TypeOrmModule's `dataSourceFactory`: creates the schema first (synchronize does not), then synchronizes. */
export async function createAppDataSource(options?: DataSourceOptions): Promise<DataSource> {
  if (options?.type !== 'postgres') throw new Error('the sample app runs on Postgres');
  const dataSource = await new DataSource({ ...options, synchronize: false }).initialize();
  try {
    // The sample keeps its tables in step with the entities instead of shipping migrations.
    await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${(options.schema ?? 'public').replace(/"/g, '""')}"`);
    if (options.synchronize) await dataSource.synchronize();
  } catch (err) {
    await dataSource.destroy();
    throw err;
  }
  return dataSource;
}

/** `TypeOrmModule.forRootAsync()` of the app (and of its e2e tests): the server's database, the app's schema. */
export const appTypeOrmOptions: TypeOrmModuleAsyncOptions = {
  inject: [APP_CONFIG, DATABASE_SERVER],
  useFactory: (config: AppConfig, server: DatabaseServer) => appDataSourceOptions(server.url, config.appSchema),
  dataSourceFactory: createAppDataSource,
};
