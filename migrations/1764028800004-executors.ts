import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';

/** Live executors and their heartbeats: a silent executor's PENDING workflows are adopted. */
export class Executors1764028800004 implements MigrationInterface {
  name = 'Executors1764028800004';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`
      CREATE TABLE ${s}.executors (
        executor_id          text PRIMARY KEY,
        application_version  text NOT NULL,
        hostname             text NOT NULL,
        pid                  integer NOT NULL,
        instance_id          text NOT NULL,
        started_at           bigint NOT NULL,
        heartbeat_at         bigint NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP TABLE ${s}.executors`);
  }
}
