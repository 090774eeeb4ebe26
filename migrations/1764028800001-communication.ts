import type { MigrationInterface, QueryRunner } from 'typeorm';
import { notificationChannelOf, systemSchemaOf } from './schema-of';
import { NOTICE_PREFIX } from '../lib/system-database/system.names';

/**
 * Messages, events and streams between workflows, and the NOTIFY triggers that wake waiters
 * (recv, getEvent, readStream, getResult) without polling.
 */
export class Communication1764028800001 implements MigrationInterface {
  name = 'Communication1764028800001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    const channel = notificationChannelOf(queryRunner);
    await queryRunner.query(`
      CREATE TABLE ${s}.notifications (
        message_id      text PRIMARY KEY,
        destination_id  text NOT NULL,
        topic           text NOT NULL,
        message         text,
        seq             bigserial NOT NULL,
        created_at      bigint NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX notifications_destination_idx ON ${s}.notifications (destination_id, topic, seq)`);
    await queryRunner.query(`
      CREATE TABLE ${s}.workflow_events (
        workflow_id  text NOT NULL,
        key          text NOT NULL,
        value        text,
        PRIMARY KEY (workflow_id, key)
      )`);
    // Every set, with the step that made it: fork copies the ones made before its starting step.
    await queryRunner.query(`
      CREATE TABLE ${s}.workflow_events_history (
        workflow_id  text NOT NULL,
        step_id      integer NOT NULL,
        key          text NOT NULL,
        value        text,
        PRIMARY KEY (workflow_id, step_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE ${s}.streams (
        workflow_id  text NOT NULL,
        key          text NOT NULL,
        "offset"     integer NOT NULL,
        value        text,
        closed       boolean NOT NULL DEFAULT false,
        step_id      integer,
        PRIMARY KEY (workflow_id, key, "offset")
      )`);
    await queryRunner.query(`
      CREATE FUNCTION ${s}.notify_waiters() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_TABLE_NAME = 'notifications' THEN
          PERFORM pg_notify('${channel}', '${NOTICE_PREFIX.message}' || NEW.destination_id);
        ELSIF TG_TABLE_NAME = 'workflow_events' THEN
          PERFORM pg_notify('${channel}', '${NOTICE_PREFIX.event}' || NEW.workflow_id);
        ELSIF TG_TABLE_NAME = 'streams' THEN
          PERFORM pg_notify('${channel}', '${NOTICE_PREFIX.stream}' || NEW.workflow_id);
        ELSIF TG_TABLE_NAME = 'workflow_status' THEN
          PERFORM pg_notify('${channel}', '${NOTICE_PREFIX.status}' || NEW.workflow_id);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`CREATE TRIGGER notifications_notify AFTER INSERT ON ${s}.notifications FOR EACH ROW EXECUTE FUNCTION ${s}.notify_waiters()`);
    await queryRunner.query(
      `CREATE TRIGGER workflow_events_notify AFTER INSERT OR UPDATE ON ${s}.workflow_events FOR EACH ROW EXECUTE FUNCTION ${s}.notify_waiters()`,
    );
    await queryRunner.query(`CREATE TRIGGER streams_notify AFTER INSERT ON ${s}.streams FOR EACH ROW EXECUTE FUNCTION ${s}.notify_waiters()`);
    // Only changes out of PENDING/ENQUEUED wake anyone: results, cancellations, failures.
    await queryRunner.query(
      `CREATE TRIGGER workflow_status_notify AFTER UPDATE OF status ON ${s}.workflow_status FOR EACH ROW
         WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status NOT IN ('PENDING', 'ENQUEUED'))
         EXECUTE FUNCTION ${s}.notify_waiters()`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP TRIGGER workflow_status_notify ON ${s}.workflow_status`);
    await queryRunner.query(`DROP TABLE ${s}.streams, ${s}.workflow_events_history, ${s}.workflow_events, ${s}.notifications`);
    await queryRunner.query(`DROP FUNCTION ${s}.notify_waiters()`);
  }
}
