import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';

/** Workflow status and step checkpoints: the durable core. */
export class InitialSchema1764028800000 implements MigrationInterface {
  name = 'InitialSchema1764028800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`
      CREATE TABLE ${s}.workflow_status (
        workflow_id          text PRIMARY KEY,
        status               text NOT NULL,
        workflow_name        text NOT NULL,
        class_name           text,
        inputs               text,
        output               text,
        error                text,
        executor_id          text,
        application_version  text,
        recovery_attempts    integer NOT NULL DEFAULT 0,
        queue_name           text,
        priority             integer NOT NULL DEFAULT 0,
        deduplication_id     text,
        partition_key        text,
        delay_until          bigint,
        timeout_ms           bigint,
        deadline             bigint,
        parent_workflow_id   text,
        forked_from          text,
        started_at           bigint,
        created_at           bigint NOT NULL,
        updated_at           bigint NOT NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX workflow_status_recovery_idx ON ${s}.workflow_status (executor_id, application_version)
         WHERE status = 'PENDING'`,
    );
    await queryRunner.query(`CREATE INDEX workflow_status_created_at_idx ON ${s}.workflow_status (created_at)`);
    await queryRunner.query(`CREATE INDEX workflow_status_name_idx ON ${s}.workflow_status (workflow_name, created_at)`);
    await queryRunner.query(
      `CREATE INDEX workflow_status_queue_idx ON ${s}.workflow_status (queue_name, priority, created_at)
         WHERE status = 'ENQUEUED'`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX workflow_status_dedup_idx ON ${s}.workflow_status (queue_name, deduplication_id)
         WHERE deduplication_id IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX workflow_status_parent_idx ON ${s}.workflow_status (parent_workflow_id)
         WHERE parent_workflow_id IS NOT NULL`,
    );
    // No foreign key to workflow_status: it would cost a lookup on every checkpoint insert on the
    // hot path; retention deletes a workflow's steps together with its status row.
    await queryRunner.query(`
      CREATE TABLE ${s}.operation_outputs (
        workflow_id        text NOT NULL,
        step_id            integer NOT NULL,
        step_name          text NOT NULL,
        output             text,
        error              text,
        child_workflow_id  text,
        started_at         bigint,
        completed_at       bigint,
        PRIMARY KEY (workflow_id, step_id)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP TABLE ${s}.operation_outputs`);
    await queryRunner.query(`DROP TABLE ${s}.workflow_status`);
  }
}
