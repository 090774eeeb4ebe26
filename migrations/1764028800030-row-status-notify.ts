import type { MigrationInterface, QueryRunner } from 'typeorm';
import { notificationChannelOf, systemSchemaOf } from './schema-of';
import { NOTICE_PREFIX } from '../lib/system-database/system.names';

/**
 * The NOTIFY of a finished workflow from a row-level trigger with its condition in WHEN. The
 * statement-level trigger it replaces declared transition tables, so every update of
 * workflow_status (claims, recovery, retention, every outcome) collected its old and new rows
 * for it, and a statement that finished nothing still ran it. A row that does not reach a
 * terminal status now runs no trigger at all.
 */
export class RowStatusNotify1764028800030 implements MigrationInterface {
  name = 'RowStatusNotify1764028800030';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    const channel = notificationChannelOf(queryRunner);
    await queryRunner.query(`DROP TRIGGER workflow_status_finished ON ${s}.workflow_status`);
    await queryRunner.query(`DROP FUNCTION ${s}.notify_finished()`);
    await queryRunner.query(`
      CREATE FUNCTION ${s}.notify_status() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${channel}', '${NOTICE_PREFIX.status}' || NEW.workflow_id);
        RETURN NULL;
      END $$`);
    await queryRunner.query(
      `CREATE TRIGGER workflow_status_finished AFTER UPDATE OF status ON ${s}.workflow_status FOR EACH ROW
         WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status NOT IN ('PENDING', 'ENQUEUED'))
         EXECUTE FUNCTION ${s}.notify_status()`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    const channel = notificationChannelOf(queryRunner);
    await queryRunner.query(`DROP TRIGGER workflow_status_finished ON ${s}.workflow_status`);
    await queryRunner.query(`DROP FUNCTION ${s}.notify_status()`);
    // As migration 1764028800005 created it.
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
  }
}
