import type { SystemDatabase } from './system.database';

/** Rows written before the first look at the tables' sizes. */
const FIRST_LOOK_AFTER = 256;
/** At most this many rows written between two looks, however large the tables are. */
const MAX_LOOK_STRIDE = 65_536;
/** A table is analysed again when its file has grown past twice its size at the last ANALYZE, plus this many pages. */
const SLACK_PAGES = 8;

/**
 * Keeps the planner statistics of the system tables current while they grow fast, so the cached
 * plans of the named statements follow the tables' sizes.
 *
 * A named statement is planned once per connection for every set of parameters (a generic plan)
 * after its first executions, and that plan is kept until the statistics of one of its tables
 * change. On a new schema that happens while the tables are a few pages long, where the cheapest
 * way to fence a batch of checkpoints is to read all of `workflow_status` into a hash table. The
 * plan stays while the table grows to tens of thousands of rows within the first minute (before
 * autovacuum's first ANALYZE), and every batch then reads the whole table: measured 6.8 ms a batch
 * at 40,000 rows, half the throughput of a fresh plan.
 *
 * So after every doubling of the rows this process wrote (from 256 rows on, at most every 65,536),
 * one statement looks for tables of the schema whose file grew past twice the size their
 * statistics were taken at, and ANALYZEs those (which also discards the stale plans, in every
 * connection). Once a table is large, doubling it takes long and autovacuum's own ANALYZE (at 10%
 * growth) comes first, so this only acts in a schema's first minutes. Only tables the role owns
 * are analysed; an ANALYZE that would wait for a lock (another process's ANALYZE, a migration) is
 * skipped. A failure changes nothing but the timing of the next plan: it is not reported.
 */
export class TableStatistics {
  private written = 0;
  private nextLookAt = FIRST_LOOK_AFTER;
  private looking?: Promise<string[]>;

  constructor(private readonly db: SystemDatabase) {}

  /** `rows` rows were added to the system tables. */
  noteWritten(rows: number): void {
    this.written += rows;
    if (this.written < this.nextLookAt || this.looking) return;
    this.nextLookAt = this.written + Math.min(this.written, MAX_LOOK_STRIDE);
    this.looking = this.refresh()
      .catch(() => [])
      .finally(() => (this.looking = undefined));
  }

  /** The look in flight, if any (tests wait for it). */
  settled(): Promise<string[] | undefined> {
    return this.looking ?? Promise.resolve(undefined);
  }

  /** ANALYZEs each table of the schema that grew past twice its analysed size; the tables analysed. */
  async refresh(): Promise<string[]> {
    const grown = await this.db.unnamed<{ name: string }>(
      `SELECT quote_ident(c.relname) AS name
         FROM pg_class c
        WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) AND c.relkind = 'r' AND pg_has_role(c.relowner, 'USAGE')
          AND pg_relation_size(c.oid) / current_setting('block_size')::int > 2 * greatest(c.relpages, 0) + ${SLACK_PAGES}`,
      [this.db.schema],
    );
    const analysed: string[] = [];
    for (const { name } of grown) {
      const done = await this.db
        .transaction(async (tx) => {
          await tx.unnamed(`SET LOCAL lock_timeout = '100ms'`);
          await tx.unnamed(`ANALYZE {schema}.${name}`);
          return true;
        })
        .catch(() => false);
      if (done) analysed.push(name);
    }
    return analysed;
  }
}
