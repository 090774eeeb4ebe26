import type { MigrationInterface, QueryRunner } from 'typeorm';
import { notificationChannelOf, systemSchemaOf } from './schema-of';

/**
 * A finished workflow NOTIFYs only when somebody waits for it elsewhere. A NOTIFY is not free: the
 * committing transaction takes a lock every notifying commit of the database shares, and every
 * listening process is woken. Most workflows are awaited in the process that runs them (a direct
 * call, a local getResult), which needs no message; a waiter in another process (a client's
 * getResult, a stream reader) marks the row `result_watched` before it reads the status, and the
 * row lock orders the mark and the outcome: either the outcome's update sees the mark and
 * notifies, or the mark finds the outcome already there. CANCELLED always notifies: the process
 * running the workflow has to stop it.
 *
 * Row-level, with the condition in WHEN: an update that notifies nobody runs no trigger at all
 * (the statement-level trigger it replaces built transition tables for every update of the table).
 */
export class WatchedResults1764028800030 implements MigrationInterface {
  name = 'WatchedResults1764028800030';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    const channel = notificationChannelOf(queryRunner);
    await queryRunner.query(`ALTER TABLE ${s}.workflow_status ADD COLUMN result_watched boolean NOT NULL DEFAULT false`);
    await queryRunner.query(`DROP TRIGGER workflow_status_finished ON ${s}.workflow_status`);
    await queryRunner.query(`DROP FUNCTION ${s}.notify_finished()`);
    await queryRunner.query(`
      CREATE FUNCTION ${s}.notify_status() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${channel}', 'status:' || NEW.workflow_id);
        RETURN NULL;
      END $$`);
    await queryRunner.query(
      `CREATE TRIGGER workflow_status_finished AFTER UPDATE OF status ON ${s}.workflow_status FOR EACH ROW
         WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status NOT IN ('PENDING', 'ENQUEUED')
               AND (NEW.status = 'CANCELLED' OR OLD.result_watched))
         EXECUTE FUNCTION ${s}.notify_status()`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    const channel = notificationChannelOf(queryRunner);
    await queryRunner.query(`DROP TRIGGER workflow_status_finished ON ${s}.workflow_status`);
    await queryRunner.query(`DROP FUNCTION ${s}.notify_status()`);
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
          PERFORM pg_notify('${channel}', 'statuses:' || chunk);
        END LOOP;
        RETURN NULL;
      END $$`);
    await queryRunner.query(
      `CREATE TRIGGER workflow_status_finished AFTER UPDATE ON ${s}.workflow_status
         REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
         FOR EACH STATEMENT EXECUTE FUNCTION ${s}.notify_finished()`,
    );
    await queryRunner.query(`ALTER TABLE ${s}.workflow_status DROP COLUMN result_watched`);
  }
}
