import type { MigrationInterface, QueryRunner } from 'typeorm';
import { notificationChannelOf, systemSchemaOf } from './schema-of';
import { NOTICE_PREFIX } from '../lib/system-database/system.names';

/** Indexes the queue dispatcher's limit checks need, and NOTIFY when queue work appears or a slot frees. */
export class Queues1764028800002 implements MigrationInterface {
  name = 'Queues1764028800002';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    const channel = notificationChannelOf(queryRunner);
    await queryRunner.query(
      `CREATE INDEX workflow_status_queue_running_idx ON ${s}.workflow_status (queue_name, partition_key)
         WHERE status = 'PENDING' AND queue_name IS NOT NULL`,
    );
    await queryRunner.query(`CREATE INDEX workflow_status_queue_started_idx ON ${s}.workflow_status (queue_name, started_at) WHERE queue_name IS NOT NULL`);
    await queryRunner.query(`
      CREATE FUNCTION ${s}.notify_queue() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${channel}', '${NOTICE_PREFIX.queue}' || NEW.queue_name);
        RETURN NULL;
      END $$`);
    await queryRunner.query(
      `CREATE TRIGGER workflow_status_enqueued AFTER INSERT ON ${s}.workflow_status FOR EACH ROW
         WHEN (NEW.status = 'ENQUEUED' AND NEW.queue_name IS NOT NULL) EXECUTE FUNCTION ${s}.notify_queue()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER workflow_status_queue_changed AFTER UPDATE OF status ON ${s}.workflow_status FOR EACH ROW
         WHEN (NEW.queue_name IS NOT NULL AND NEW.status IS DISTINCT FROM OLD.status
               AND (OLD.status = 'PENDING' OR NEW.status = 'ENQUEUED'))
         EXECUTE FUNCTION ${s}.notify_queue()`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP TRIGGER workflow_status_queue_changed ON ${s}.workflow_status`);
    await queryRunner.query(`DROP TRIGGER workflow_status_enqueued ON ${s}.workflow_status`);
    await queryRunner.query(`DROP FUNCTION ${s}.notify_queue()`);
    await queryRunner.query(`DROP INDEX ${s}.workflow_status_queue_started_idx`);
    await queryRunner.query(`DROP INDEX ${s}.workflow_status_queue_running_idx`);
  }
}
