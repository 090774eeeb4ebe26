import type { QueryConfig, QueryResult, QueryResultRow } from 'pg';

/**
 * A pg connection a statement can run on: a pooled client inside a transaction, the pool, a
 * dedicated connection. Repositories run statements on one through `Sql` (see sql.ts).
 */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string | QueryConfig, values?: unknown[]): Promise<QueryResult<R>>;
}
