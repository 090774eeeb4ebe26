import { createHash } from 'node:crypto';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The schema name, validated as a plain identifier and quoted: it is the only name spliced into SQL. */
export function quoteSchemaName(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new Error(`Invalid system schema name "${schema}": use 1 to 63 letters, digits and underscores, not starting with a digit.`);
  }
  return `"${schema}"`;
}

/** The LISTEN/NOTIFY channel of a system schema: one per schema, short enough for any schema name. */
export function notificationChannel(schema: string): string {
  quoteSchemaName(schema);
  return `dbos_${createHash('md5').update(schema).digest('hex').slice(0, 16)}`;
}
