import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';

/**
 * list({ status: 'ERROR', workflowName }) in created_at order from one index: the failed (or
 * cancelled) runs of one workflow among millions. Like the status index it leaves PENDING and
 * SUCCESS rows out, so the hot path (a workflow started and finished in SUCCESS) never touches it.
 */
export class RareStatusNameIndex1764028800031 implements MigrationInterface {
  name = 'RareStatusNameIndex1764028800031';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(
      `CREATE INDEX workflow_status_status_name_created_idx ON ${s}.workflow_status (status, workflow_name, created_at)
        WHERE status NOT IN ('PENDING', 'SUCCESS')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP INDEX ${s}.workflow_status_status_name_created_idx`);
  }
}
