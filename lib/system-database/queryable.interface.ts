import type { QueryResult, QueryResultRow } from 'pg';

/**
 * Anything a repository can run a statement on: a pooled client inside a transaction, the pool,
 * a dedicated connection. Repository methods that take one take it as their first argument.
 */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}
