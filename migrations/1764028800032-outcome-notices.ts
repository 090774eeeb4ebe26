import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';

/**
 * SUCCESS and ERROR are announced by the statements that write them, once per statement (a batch
 * of outcomes is one `statuses:[...]` message, its queues one `queue:<name>` each), instead of by
 * a row-level trigger: a trigger call and a NOTIFY per finished workflow cost Postgres and every
 * listening process a fifth of the hot path's CPU. The triggers keep announcing what other
 * statements do: a cancel, MAX_RECOVERY_ATTEMPTS_EXCEEDED, an enqueue, a resume.
 * WorkflowStatusRepository.complete and .transition are the statements that write SUCCESS or ERROR.
 */
export class OutcomeNotices1764028800032 implements MigrationInterface {
  name = 'OutcomeNotices1764028800032';

  async up(queryRunner: QueryRunner): Promise<void> {
    await recreate(
      queryRunner,
      `NEW.status IS DISTINCT FROM OLD.status AND NEW.status NOT IN ('PENDING', 'ENQUEUED', 'SUCCESS', 'ERROR')`,
      `NEW.queue_name IS NOT NULL AND NEW.status IS DISTINCT FROM OLD.status
       AND (OLD.status = 'PENDING' OR NEW.status = 'ENQUEUED') AND NEW.status NOT IN ('SUCCESS', 'ERROR')`,
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
