import type { MigrationInterface, QueryRunner } from 'typeorm';
import { notificationChannelOf, systemSchemaOf } from './schema-of';
import { NOTICE_PREFIX } from '../lib/system-database/system.names';

/**
 * One NOTIFY per statement for finished workflows instead of one per row (a batch of completions
 * wakes its waiters with a single message), and an index for FIFO queue claims.
 */
export class BatchedStatusNotify1764028800005 implements MigrationInterface {
  name = 'BatchedStatusNotify1764028800005';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    const channel = notificationChannelOf(queryRunner);
    await queryRunner.query(`DROP TRIGGER workflow_status_notify ON ${s}.workflow_status`);
    // Payload: 'statuses:' + a JSON array of ids, split so each message stays under the 8000-byte limit.
    await queryRunner.query(`
      CREATE FUNCTION ${s}.notify_finished() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        chunk text;
      BEGIN
        FOR chunk IN
          SELECT json_agg(workflow_id)::text FROM (
            SELECT n.workflow_id, (row_number() OVER () - 1) / 100 AS part
              FROM new_rows n JOIN old_rows o ON o.workflow_id = n.workflow_id
             WHERE n.status IS DISTINCT FROM o.status AND n.status NOT IN ('PENDING', 'ENQUEUED')
          ) finished GROUP BY part
        LOOP
          PERFORM pg_notify('${channel}', '${NOTICE_PREFIX.statuses}' || chunk);
        END LOOP;
        RETURN NULL;
      END $$`);
    await queryRunner.query(
      `CREATE TRIGGER workflow_status_finished AFTER UPDATE ON ${s}.workflow_status
         REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
         FOR EACH STATEMENT EXECUTE FUNCTION ${s}.notify_finished()`,
    );
    await queryRunner.query(`CREATE INDEX workflow_status_queue_fifo_idx ON ${s}.workflow_status (queue_name, created_at) WHERE status = 'ENQUEUED'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP INDEX ${s}.workflow_status_queue_fifo_idx`);
    await queryRunner.query(`DROP TRIGGER workflow_status_finished ON ${s}.workflow_status`);
    await queryRunner.query(`DROP FUNCTION ${s}.notify_finished()`);
    await queryRunner.query(
      `CREATE TRIGGER workflow_status_notify AFTER UPDATE OF status ON ${s}.workflow_status FOR EACH ROW
         WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status NOT IN ('PENDING', 'ENQUEUED'))
         EXECUTE FUNCTION ${s}.notify_waiters()`,
    );
  }
}
