import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';

/**
 * The open burst of each debounce key (`WorkflowClient.debounce`): the ENQUEUED workflow that calls
 * with the key update while it waits. Its row is the lock that serializes the calls of one key.
 * Keys are scoped by workflow name; a row goes with its workflow (ON DELETE CASCADE), so retention
 * and deletes leave no stale key behind.
 */
export class Debounce1764028800036 implements MigrationInterface {
  name = 'Debounce1764028800036';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`CREATE TABLE ${s}.debounce (
      workflow_name text NOT NULL,
      debounce_key text NOT NULL,
      workflow_id text REFERENCES ${s}.workflow_status (workflow_id) ON DELETE CASCADE,
      PRIMARY KEY (workflow_name, debounce_key)
    )`);
    // The cascade looks rows up by workflow id on every delete of a status row.
    await queryRunner.query(`CREATE INDEX debounce_workflow_idx ON ${s}.debounce (workflow_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP TABLE ${s}.debounce`);
  }
}
