import type { MigrationInterface, QueryRunner } from 'typeorm';
import { notificationChannelOf, systemSchemaOf } from './schema-of';
import { NOTICE_PREFIX } from '../lib/system-database/system.names';

/**
 * Schedules created at run time (`ScheduleClient`), and the overlap state of `@Scheduled` ones.
 * Each row holds its definition and the tick state every process decides against under the row's
 * lock: the last tick decided, the tick a `buffer-one` policy holds back, how many were skipped.
 * A change of a definition (not of the tick state) NOTIFYs `schedule:<name>`, so every process
 * re-reads it at once.
 */
export class Schedules1764028800037 implements MigrationInterface {
  name = 'Schedules1764028800037';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    const channel = notificationChannelOf(queryRunner);
    await queryRunner.query(`
      CREATE TABLE ${s}.schedules (
        name text PRIMARY KEY,
        cron text NOT NULL,
        timezone text NOT NULL,
        workflow_name text NOT NULL,
        inputs text NOT NULL,
        queue_name text,
        overlap text NOT NULL DEFAULT 'allow' CHECK (overlap IN ('allow', 'skip', 'buffer-one', 'cancel-other')),
        paused boolean NOT NULL DEFAULT false,
        last_tick bigint,
        buffered_tick bigint,
        skipped_ticks bigint NOT NULL DEFAULT 0,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      )`);
    await queryRunner.query(`ALTER TABLE ${s}.scheduler_state ADD COLUMN buffered_tick bigint, ADD COLUMN skipped_ticks bigint NOT NULL DEFAULT 0`);
    // A row now also exists before its first tick, as the lock an overlap decision takes.
    await queryRunner.query(`ALTER TABLE ${s}.scheduler_state ALTER COLUMN last_tick DROP NOT NULL`);
    await queryRunner.query(`
      CREATE FUNCTION ${s}.notify_schedule() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${channel}', '${NOTICE_PREFIX.schedule}' || COALESCE(NEW.name, OLD.name));
        RETURN NULL;
      END $$`);
    await queryRunner.query(
      `CREATE TRIGGER schedules_changed
         AFTER INSERT OR DELETE OR UPDATE OF cron, timezone, workflow_name, inputs, queue_name, overlap, paused ON ${s}.schedules
         FOR EACH ROW EXECUTE FUNCTION ${s}.notify_schedule()`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP TABLE ${s}.schedules`);
    await queryRunner.query(`DROP FUNCTION ${s}.notify_schedule()`);
    await queryRunner.query(`DELETE FROM ${s}.scheduler_state WHERE last_tick IS NULL`);
    await queryRunner.query(`ALTER TABLE ${s}.scheduler_state DROP COLUMN buffered_tick, DROP COLUMN skipped_ticks, ALTER COLUMN last_tick SET NOT NULL`);
  }
}
