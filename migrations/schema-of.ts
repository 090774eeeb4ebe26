import type { QueryRunner } from 'typeorm';
import { notificationChannel, quoteSchemaName } from '../lib/system-database/schema-name.util';

function schemaOf(queryRunner: QueryRunner): string {
  return (queryRunner.connection.options as { schema?: string }).schema ?? 'dbos';
}

/** The quoted system schema of the DataSource running the migration (its `schema` option). */
export function systemSchemaOf(queryRunner: QueryRunner): string {
  return quoteSchemaName(schemaOf(queryRunner));
}

/** The LISTEN/NOTIFY channel of that schema. */
export function notificationChannelOf(queryRunner: QueryRunner): string {
  return notificationChannel(schemaOf(queryRunner));
}
