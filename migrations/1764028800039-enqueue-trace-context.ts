import type { MigrationInterface, QueryRunner } from 'typeorm';
import { systemSchemaOf } from './schema-of';
import { INTERNAL_QUEUE } from '../lib/system-database/system.names';
import { EnqueueFunction1764028800010 } from './1764028800010-enqueue-function';

/**
 * `enqueue_workflow(name, queue, args, workflow_id, traceparent)`: the SQL start takes the W3C
 * `traceparent` of the caller's trace (optional, last), stored in `trace_context` in the form
 * WorkflowClient.enqueue stores it (`{"traceparent":"00-..."}`), so the workflow's span is a child
 * of that span. A malformed one raises, saying the form expected; NULL stores none. The four
 * argument call form keeps working (the function is replaced, not overloaded, so that a call with
 * three or four arguments is not ambiguous).
 */
export class EnqueueTraceContext1764028800039 implements MigrationInterface {
  name = 'EnqueueTraceContext1764028800039';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP FUNCTION ${s}.enqueue_workflow(text, text, json, text)`);
    await queryRunner.query(`
      CREATE FUNCTION ${s}.enqueue_workflow(name text, queue text, args json, workflow_id text DEFAULT NULL, traceparent text DEFAULT NULL)
      RETURNS text LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        id  text := COALESCE(workflow_id, gen_random_uuid()::text);
        now bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      BEGIN
        IF name IS NULL OR name = '' THEN
          RAISE EXCEPTION 'enqueue_workflow: name is required (the workflow''s name, e.g. ''OrderEvents.onOrderCreated'')';
        END IF;
        IF traceparent IS NOT NULL AND (traceparent !~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
            OR substr(traceparent, 4, 32) = repeat('0', 32) OR substr(traceparent, 37, 16) = repeat('0', 16)) THEN
          RAISE EXCEPTION 'enqueue_workflow: traceparent must be a W3C traceparent, 00-<trace id: 32 lowercase hex>-<parent span id: 16 lowercase hex>-<flags: 2 hex>, ids not all zeros (e.g. ''00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01''), or NULL; got ''%''', traceparent
            USING ERRCODE = 'invalid_parameter_value';
        END IF;
        INSERT INTO ${s}.workflow_status (workflow_id, status, workflow_name, inputs, queue_name, created_at, updated_at, trace_context)
        VALUES (
          id, 'ENQUEUED', name,
          CASE WHEN args IS NULL THEN '[]' WHEN json_typeof(args) = 'array' THEN args::text ELSE json_build_array(args)::text END,
          COALESCE(queue, '${INTERNAL_QUEUE}'), now, now,
          CASE WHEN traceparent IS NULL THEN NULL ELSE '{"traceparent":"' || traceparent || '"}' END)
        ON CONFLICT DO NOTHING;
        RETURN id;
      END $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = systemSchemaOf(queryRunner);
    await queryRunner.query(`DROP FUNCTION ${s}.enqueue_workflow(text, text, json, text, text)`);
    await new EnqueueFunction1764028800010().up(queryRunner);
  }
}
