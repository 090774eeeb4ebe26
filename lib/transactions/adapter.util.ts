/**
 * A `$1`-style statement as one for a query builder whose raw API binds `?` in order (Knex, and
 * MikroORM through it): each `$n` becomes `?` with its value at that place (a value used twice is
 * bound twice), a literal `?` is escaped, and `undefined` is bound as null.
 */
export function toQuestionMarks(text: string, values: unknown[] = []): { sql: string; bindings: unknown[] } {
  const bindings: unknown[] = [];
  const sql = text.replace(/\?|\$(\d+)/g, (match, position: string | undefined) => {
    if (position === undefined) return '\\?';
    bindings.push(values[Number(position) - 1] ?? null);
    return '?';
  });
  return { sql, bindings };
}

/** `undefined` bound as null: the drivers that refuse it (Prisma, Knex) and the ones that do not alike. */
export function nullForUndefined(values: unknown[] = []): unknown[] {
  return values.map((value) => value ?? null);
}

/** The rows of a driver's answer: pg's result object (`{ rows }`), or the rows themselves. */
export function rowsOf<R>(result: unknown): R[] {
  if (Array.isArray(result)) return result as R[];
  return ((result as { rows?: R[] } | undefined)?.rows ?? []) as R[];
}

/** `READ COMMITTED` as Knex, Drizzle and MikroORM spell it. */
export function lowerCase<L extends string>(level: L): Lowercase<L> {
  return level.toLowerCase() as Lowercase<L>;
}
