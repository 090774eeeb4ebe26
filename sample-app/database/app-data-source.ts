import { DataSource } from 'typeorm';
import { Stock } from '../stock/stock.entity';

/**
 * The app's TypeORM DataSource. DbosModule runs `@Transaction` steps on it and keeps its system
 * tables in the same database, so a stock update commits together with its checkpoint.
 */
export async function openAppDataSource(url: string, schema: string): Promise<DataSource> {
  const dataSource = new DataSource({ type: 'postgres', url, schema, entities: [Stock] });
  await dataSource.initialize();
  try {
    // The sample keeps its one table in step with the entity instead of shipping migrations.
    await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '""')}"`);
    await dataSource.synchronize();
  } catch (err) {
    await dataSource.destroy();
    throw err;
  }
  return dataSource;
}
