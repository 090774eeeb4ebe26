import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';

/**
 * The W3C trace context (traceparent, tracestate, as JSON) active when a workflow was started or
 * enqueued: every run of it (a dequeue, a recovery, an adoption, in any process) continues that trace.
 */
export class TraceContext1764028800033 implements MigrationInterface {
  name = 'TraceContext1764028800033';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`ALTER TABLE ${s}.workflow_status ADD COLUMN trace_context text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`ALTER TABLE ${s}.workflow_status DROP COLUMN trace_context`);
  }
}
