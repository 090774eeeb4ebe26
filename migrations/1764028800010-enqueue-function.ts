import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';
import { INTERNAL_QUEUE } from '../lib/system-database/system.names';

/**
 * `enqueue_workflow(name, queue, args, workflow_id)`: starts a workflow from SQL (the app's own
 * queries and triggers), in the caller's transaction: a rolled-back row change starts nothing.
 * The row is the one WorkflowClient.enqueue inserts; its insert trigger NOTIFYs the queue's
 * dispatchers. `args` is the JSON array of the workflow's arguments (a single non-array value is
 * one argument). An id that exists is left as it is and returned.
 */
export class EnqueueFunction1764028800010 implements MigrationInterface {
  name = 'EnqueueFunction1764028800010';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`
      CREATE FUNCTION ${s}.enqueue_workflow(name text, queue text, args json, workflow_id text DEFAULT NULL)
      RETURNS text LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        id  text := COALESCE(workflow_id, gen_random_uuid()::text);
        now bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      BEGIN
        IF name IS NULL OR name = '' THEN
          RAISE EXCEPTION 'enqueue_workflow: name is required (the workflow''s name, e.g. ''OrderEvents.onOrderCreated'')';
        END IF;
        INSERT INTO ${s}.workflow_status (workflow_id, status, workflow_name, inputs, queue_name, created_at, updated_at)
        VALUES (
          id, 'ENQUEUED', name,
          CASE WHEN args IS NULL THEN '[]' WHEN json_typeof(args) = 'array' THEN args::text ELSE json_build_array(args)::text END,
          COALESCE(queue, '${INTERNAL_QUEUE}'), now, now)
        ON CONFLICT DO NOTHING;
        RETURN id;
      END $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP FUNCTION ${s}.enqueue_workflow(text, text, json, text)`);
  }
}
