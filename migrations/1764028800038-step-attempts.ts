import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';

/**
 * The failed attempts of retried steps (`@Step({ retries })`, `runStep`): one row per attempt that
 * threw, written when it failed, so the dashboard's timeline shows what each retry met. Only
 * failures are written: a step that succeeds at once adds nothing. A row goes with its workflow
 * (ON DELETE CASCADE), so retention and deletes leave none behind.
 */
export class StepAttempts1764028800038 implements MigrationInterface {
  name = 'StepAttempts1764028800038';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`CREATE TABLE ${s}.step_attempts (
      workflow_id text NOT NULL REFERENCES ${s}.workflow_status (workflow_id) ON DELETE CASCADE,
      step_id integer NOT NULL,
      attempt integer NOT NULL,
      started_at bigint NOT NULL,
      ended_at bigint NOT NULL,
      error text NOT NULL,
      PRIMARY KEY (workflow_id, step_id, attempt)
    )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP TABLE ${s}.step_attempts`);
  }
}
