import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';

/**
 * Workflow attributes: small string key/values given at the start (`{ tenant: 'acme' }`), listed
 * by containment (`attributes @> '{"tenant":"acme"}'`) through a GIN index. The index is partial:
 * a workflow started without attributes (the hot path) adds no index entry.
 */
export class WorkflowAttributes1764028800034 implements MigrationInterface {
  name = 'WorkflowAttributes1764028800034';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`ALTER TABLE ${s}.workflow_status ADD COLUMN attributes jsonb`);
    await queryRunner.query(
      `CREATE INDEX workflow_status_attributes_idx ON ${s}.workflow_status USING gin (attributes jsonb_path_ops) WHERE attributes IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP INDEX ${s}.workflow_status_attributes_idx`);
    await queryRunner.query(`ALTER TABLE ${s}.workflow_status DROP COLUMN attributes`);
  }
}
