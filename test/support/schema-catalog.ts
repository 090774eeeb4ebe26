import { notificationChannel } from '../../lib/system-database/schema-name.util';
import { sql } from './database';

/**
 * The objects of a schema as the catalog describes them (relations, columns, constraints,
 * indexes, triggers, functions with their bodies), one line each, sorted, with the schema's name
 * and its notification channel written `{schema}` and `{channel}`: two schemas built alike
 * describe alike, on any Postgres major.
 */
export async function describeSchema(schema: string): Promise<string[]> {
  const rows = await sql<{ line: string }>(
    `SELECT kind || ' ' || name || ': ' || def AS line FROM (
       SELECT 'relation' AS kind, c.relname::text AS name, c.relkind::text AS def
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind NOT IN ('i', 'I')
       UNION ALL
       SELECT 'column', c.relname || '.' || a.attname,
              format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
              || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm')
       UNION ALL
       SELECT 'constraint', c.relname || '.' || co.conname, pg_get_constraintdef(co.oid)
         FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = co.connamespace
        WHERE n.nspname = $1
       UNION ALL
       SELECT 'index', c.relname, pg_get_indexdef(c.oid)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('i', 'I')
       UNION ALL
       SELECT 'trigger', c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid)
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND NOT t.tgisinternal
       UNION ALL
       SELECT 'function', p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', pg_get_functiondef(p.oid)
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1
     ) objects ORDER BY kind, name`,
    [schema],
  );
  return rows.map((r) => r.line.replaceAll(notificationChannel(schema), '{channel}').replaceAll(schema, '{schema}'));
}

/** The snapshot's SQL for `schema`: its placeholders replaced by the schema's name and channel. */
export function snapshotFor(snapshot: string, schema: string): string {
  return snapshot.replaceAll('{channel}', notificationChannel(schema)).replaceAll('{schema}', schema);
}
