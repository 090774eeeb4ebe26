import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';

/**
 * `outcome_watched`: set (true) by a process that waits for the workflow's outcome without running
 * it (a handle's getResult, waitAll/waitFirst, readStream), before it reads the status again;
 * scheduled runs are inserted with it. The statement that writes a SUCCESS or ERROR announces it
 * (`statuses:[...]`) only for the rows so marked and the queued ones (whose queue it notifies
 * anyway): a NOTIFY wakes every backend that LISTENs on the database, whatever its channel, and
 * cost the sequential hot path about a sixth of its latency when nobody else was waiting. The
 * process running the workflow tells its own waiters without the database. The mark and the
 * outcome are ordered by the row's lock: a mark made first is seen by the outcome's UPDATE, and
 * one made after finds the row finished and reads it (ListingRepository.watchOutcomes). A plain
 * UPDATE of an unindexed column, so it stays a HOT update.
 */
export class OutcomeWatch1764028800040 implements MigrationInterface {
  name = 'OutcomeWatch1764028800040';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE ${systemSchemaOf(queryRunner)}.workflow_status ADD COLUMN outcome_watched boolean`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE ${systemSchemaOf(queryRunner)}.workflow_status DROP COLUMN outcome_watched`);
  }
}
