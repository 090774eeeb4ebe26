import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';

/**
 * Fencing and delivery records:
 * - `run_epoch` counts the runs a workflow was handed to (start, dequeue, recovery, adoption,
 *   resume); a run writes checkpoints and its outcome only while the epoch is still its own.
 * - `cancel_root` names the workflow whose cancel cascaded to this one, so a resume of that
 *   workflow reopens exactly the descendants its cancel stopped.
 * - `message_keys` remembers the idempotency keys of client sends per destination, after the
 *   message itself was consumed.
 */
export class RunFencing1764028800006 implements MigrationInterface {
  name = 'RunFencing1764028800006';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`ALTER TABLE ${s}.workflow_status ADD COLUMN run_epoch integer NOT NULL DEFAULT 0`);
    await queryRunner.query(`ALTER TABLE ${s}.workflow_status ADD COLUMN cancel_root text`);
    await queryRunner.query(`
      CREATE TABLE ${s}.message_keys (
        destination_id   text NOT NULL,
        idempotency_key  text NOT NULL,
        created_at       bigint NOT NULL,
        PRIMARY KEY (destination_id, idempotency_key)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP TABLE ${s}.message_keys`);
    await queryRunner.query(`ALTER TABLE ${s}.workflow_status DROP COLUMN cancel_root`);
    await queryRunner.query(`ALTER TABLE ${s}.workflow_status DROP COLUMN run_epoch`);
  }
}
