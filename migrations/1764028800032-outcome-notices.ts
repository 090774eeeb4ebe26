import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';

/**
 * SUCCESS and ERROR are announced by the statements that write them, once per statement (a batch
 * of outcomes is one `statuses:[...]` message, its queues one `queue:<name>` each), instead of by
 * a row-level trigger: a trigger call and a NOTIFY per finished workflow cost Postgres and every
 * listening process a fifth of the hot path's CPU. Such a statement marks the row
 * `announced_epoch = run_epoch` (each run has its own epoch), and the triggers skip exactly those
 * rows: an outcome written by a process of an earlier version (during a rolling deploy) is still
 * announced by the triggers, as are cancels, MAX_RECOVERY_ATTEMPTS_EXCEEDED, enqueues and resumes.
 * RunLifecycleRepository.complete and .transition are the statements that announce.
 */
export class OutcomeNotices1764028800032 implements MigrationInterface {
  name = 'OutcomeNotices1764028800032';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`ALTER TABLE ${s}.workflow_status ADD COLUMN announced_epoch integer`);
    const announced = `NEW.status IN ('SUCCESS', 'ERROR') AND NEW.announced_epoch IS NOT DISTINCT FROM NEW.run_epoch`;
    await recreate(
      queryRunner,
      `NEW.status IS DISTINCT FROM OLD.status AND NEW.status NOT IN ('PENDING', 'ENQUEUED') AND NOT (${announced})`,
      `NEW.queue_name IS NOT NULL AND NEW.status IS DISTINCT FROM OLD.status
       AND (OLD.status = 'PENDING' OR NEW.status = 'ENQUEUED') AND NOT (${announced})`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // As migrations 1764028800030 and 1764028800002 created them.
    await recreate(
      queryRunner,
      `NEW.status IS DISTINCT FROM OLD.status AND NEW.status NOT IN ('PENDING', 'ENQUEUED')`,
      `NEW.queue_name IS NOT NULL AND NEW.status IS DISTINCT FROM OLD.status
       AND (OLD.status = 'PENDING' OR NEW.status = 'ENQUEUED')`,
    );
    await queryRunner.query(`ALTER TABLE ${systemSchemaOf(queryRunner)}.workflow_status DROP COLUMN announced_epoch`);
  }
}

async function recreate(queryRunner: QueryRunner, finishedWhen: string, queueChangedWhen: string): Promise<void> {
  const s = systemSchemaOf(queryRunner);
  await queryRunner.query(`DROP TRIGGER workflow_status_finished ON ${s}.workflow_status`);
  await queryRunner.query(
    `CREATE TRIGGER workflow_status_finished AFTER UPDATE OF status ON ${s}.workflow_status FOR EACH ROW
       WHEN (${finishedWhen}) EXECUTE FUNCTION ${s}.notify_status()`,
  );
  await queryRunner.query(`DROP TRIGGER workflow_status_queue_changed ON ${s}.workflow_status`);
  await queryRunner.query(
    `CREATE TRIGGER workflow_status_queue_changed AFTER UPDATE OF status ON ${s}.workflow_status FOR EACH ROW
       WHEN (${queueChangedWhen}) EXECUTE FUNCTION ${s}.notify_queue()`,
  );
}
