import type { DataSource, DataSourceOptions } from 'typeorm';

/** The postgres member of DataSourceOptions (PostgresConnectionOptions in TypeORM 0.3, PostgresDataSourceOptions in 1.x). */
type PostgresConnectionOptions = Extract<DataSourceOptions, { type: 'postgres' }>;

/** Where the database is, for error messages: never the password. */
export function describeTarget(config: { url?: string; dataSource?: DataSource }): string {
  if (config.url) return redactUrl(config.url);
  const o = config.dataSource?.options as PostgresConnectionOptions | undefined;
  if (o?.url) return redactUrl(o.url);
  return `postgres://${o?.username ?? ''}@${o?.host ?? 'localhost'}:${o?.port ?? 5432}/${o?.database ?? ''}`;
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database URL)';
  }
}
