import { createHash } from 'node:crypto';
import type { QueryResultRow } from 'pg';
import { namedStatementLost } from './connection.options';
import type { Queryable } from './queryable.interface';

/** Now on the database's clock (epoch ms), as executor leases and heartbeats are judged. */
export const DB_NOW = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/**
 * `condition`, on a status row (`alias`) that is PENDING: how a fence or a claim of named rows
 * says "still PENDING under this run". Written as a CASE so that no partial index
 * `WHERE status = 'PENDING'` can answer it: the planner only uses such an index when the
 * statement's WHERE implies the index's predicate, and judges its size by statistics that may
 * have been taken when no row was PENDING (months of finished history, then a crash). It then
 * walks every PENDING row for each row looked up (N² over a recovery) instead of the primary key.
 * NULL when the row is not PENDING: only for WHERE clauses (never under NOT).
 */
export function whilePending(alias: string, condition: string): string {
  return `CASE WHEN ${alias}.status = 'PENDING' THEN ${condition} END`;
}

/** Whether a statement failed because a row it had to lock NOWAIT was held (Postgres' 55P03). */
export function isLockNotAvailable(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '55P03';
}

/** The fence of a write by a run: the workflow is PENDING and its current run is the one of `epoch` (one primary-key lookup). */
export function ownedBy(workflowId: string, epoch: string): string {
  return `EXISTS (SELECT 1 FROM {schema}.workflow_status w
                   WHERE w.workflow_id = ${workflowId} AND ${whilePending('w', `w.run_epoch = ${epoch}`)})`;
}

/** Where the system schema goes in a statement's text (`{schema}.workflow_status`): each statement names its tables so. */
export const SCHEMA_PLACEHOLDER = '{schema}';

/**
 * How every repository runs its statements, on the pool (`SystemDatabase`) or on a transaction's
 * connection (`SystemDatabase.on`): both return the rows, and both put the system schema in place
 * of `{schema}`.
 */
export interface Sql {
  /**
   * A named statement, prepared once per connection: the hot paths, whose text never varies (a
   * statement's name is derived from its text). Through an app transaction's ORM it runs unnamed.
   */
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /** An unnamed statement: text built per call (the list's filters), or one that runs rarely. */
  unnamed<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
}

/** The statement texts of one schema: `{schema}` replaced by the quoted name, and a name per named text. */
export class SchemaStatements {
  private readonly named = new Map<string, { name?: string; text: string }>();

  /**
   * `prepareNamed: false` (behind a transaction-mode pooler, `database.pooler: 'transaction'`):
   * every statement runs unnamed. A named statement is prepared on one server connection, and the
   * pooler may run the next call on another, where it does not exist (or exists already).
   */
  constructor(
    private readonly quotedSchema: string,
    private readonly prepareNamed = true,
  ) {}

  /** The text with the schema in place; not remembered (texts built per call would pile up). */
  text(text: string): string {
    return text.replaceAll(SCHEMA_PLACEHOLDER, this.quotedSchema);
  }

  /** The text with the schema in place and its statement name (none when named statements are off), remembered per text. */
  prepared(text: string): { name?: string; text: string } {
    let statement = this.named.get(text);
    if (!statement) {
      const expanded = this.text(text);
      const name = this.prepareNamed ? `dbos_${createHash('sha1').update(expanded).digest('hex').slice(0, 16)}` : undefined;
      statement = { name, text: expanded };
      this.named.set(text, statement);
    }
    return statement;
  }
}

/** One statement inside an app transaction, through its ORM (a `@Transaction`'s adapter): its rows. */
export type StatementRunner = (text: string, values?: unknown[]) => Promise<unknown[]>;

/** Sql over one connection (a transaction's pooled client, a dedicated connection), or through an app transaction's ORM. */
export function sqlOver(connection: Queryable | StatementRunner, statements: SchemaStatements): Sql {
  if (typeof connection === 'function') {
    const run = async <R>(text: string, values?: unknown[]) => (await connection(statements.text(text), values)) as R[];
    return { query: run, unnamed: run };
  }
  return {
    query: async <R extends QueryResultRow>(text: string, values: unknown[] = []) => {
      try {
        return (await connection.query<R>({ ...statements.prepared(text), values })).rows;
      } catch (err) {
        throw namedStatementLost(err) ?? err;
      }
    },
    unnamed: async <R extends QueryResultRow>(text: string, values?: unknown[]) => (await connection.query<R>(statements.text(text), values)).rows,
  };
}
