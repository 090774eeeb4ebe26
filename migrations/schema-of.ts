import type { QueryRunner } from 'typeorm';
import { quoteSchemaName } from '../lib/system-database/schema-name';

/** The quoted system schema of the DataSource running the migration (its `schema` option). */
export function systemSchemaOf(queryRunner: QueryRunner): string {
  return quoteSchemaName((queryRunner.connection.options as { schema?: string }).schema ?? 'dbos');
}
