import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';

/** The last tick started per schedule, so ticks missed while no process ran can be caught up. */
export class Scheduler1764028800003 implements MigrationInterface {
  name = 'Scheduler1764028800003';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`CREATE TABLE ${s}.scheduler_state (workflow_name text PRIMARY KEY, last_tick bigint NOT NULL)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${systemSchemaOf(queryRunner)}.scheduler_state`);
  }
}
