import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';

/**
 * Indexes for every list() filter, so a management page costs the same with millions of
 * finished workflows as with none: each filter column with created_at (the list order), ids by
 * prefix (text_pattern_ops: LIKE 'prefix%' under any collation), updated_at ranges (served in
 * updated_at order), forks. Workflow name and parent had theirs already.
 *
 * Each index costs a workflow an entry at its insert and another at each status change (a
 * status change is never a HOT update: status is in the predicate of the recovery and queue
 * indexes since the first migrations, so a fillfactor would not help). So these indexes leave
 * PENDING rows out: a workflow called directly is PENDING from its insert to its completion and
 * adds entries to them once, at completion. list() reads PENDING rows (the running workflows,
 * few next to the history) through workflow_status_pending_created_idx, and the other rows
 * through these. The status index also leaves SUCCESS out: a SUCCESS filter is served by the
 * created_at index, where most rows are SUCCESS; the rare statuses keep their index.
 */
export class ListIndexes1764028800020 implements MigrationInterface {
  name = 'ListIndexes1764028800020';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(
      `CREATE INDEX workflow_status_status_created_idx ON ${s}.workflow_status (status, created_at) WHERE status NOT IN ('PENDING', 'SUCCESS')`,
    );
    await queryRunner.query(
      `CREATE INDEX workflow_status_executor_created_idx ON ${s}.workflow_status (executor_id, created_at) WHERE executor_id IS NOT NULL AND status <> 'PENDING'`,
    );
    await queryRunner.query(
      `CREATE INDEX workflow_status_version_created_idx ON ${s}.workflow_status (application_version, created_at) WHERE status <> 'PENDING'`,
    );
    await queryRunner.query(
      `CREATE INDEX workflow_status_queue_created_idx ON ${s}.workflow_status (queue_name, created_at) WHERE queue_name IS NOT NULL AND status <> 'PENDING'`,
    );
    await queryRunner.query(`CREATE INDEX workflow_status_id_prefix_idx ON ${s}.workflow_status (workflow_id text_pattern_ops) WHERE status <> 'PENDING'`);
    await queryRunner.query(`CREATE INDEX workflow_status_updated_at_idx ON ${s}.workflow_status (updated_at) WHERE status <> 'PENDING'`);
    await queryRunner.query(`CREATE INDEX workflow_status_pending_created_idx ON ${s}.workflow_status (created_at) WHERE status = 'PENDING'`);
    await queryRunner.query(
      `CREATE INDEX workflow_status_forked_from_idx ON ${s}.workflow_status (forked_from) WHERE forked_from IS NOT NULL AND status <> 'PENDING'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    for (const name of [
      'status_created',
      'executor_created',
      'version_created',
      'queue_created',
      'id_prefix',
      'updated_at',
      'pending_created',
      'forked_from',
    ]) {
      await queryRunner.query(`DROP INDEX ${s}.workflow_status_${name}_idx`);
    }
  }
}
