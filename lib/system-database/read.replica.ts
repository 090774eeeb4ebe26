import { Pool, type ClientConfig, type QueryResult, type QueryResultRow } from 'pg';
import { describeTarget } from '../common/database-target.util';
import { DbosConfigurationError } from '../errors/configuration.error';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import type { ReadReplicaOptions } from '../interfaces/dbos-module-options.interface';
import { isConnectionError, isReadOnlyRefusal } from './connection-errors.util';
import { namedStatementLost, type SystemLogger } from './connection.options';
import { checkReplica } from './replica.checks';
import { sqlOver, type SchemaStatements, type Sql } from './sql';

/** Connections in the replica's pool, unless `readPoolSize` says otherwise: management reads are few and short. */
export const DEFAULT_READ_POOL_SIZE = 2;
/** After the replica failed to answer, it is left alone this long (reads follow `readFallback`) before it is tried again. */
export const REPLICA_RETRY_MS = 5_000;

export interface ReadReplicaSetup extends ReadReplicaOptions {
  readUrl: string;
  /** The primary's statements: the fallback, and the other side of the startup checks. */
  primary: Sql;
  primaryTarget: string;
  /** The primary pool's connection settings (timeouts, keepalive, application_name `<name>:replica`). */
  connection: ClientConfig;
  statements: SchemaStatements;
  schema: string;
  /** Behind a pooler no startup parameter is sent: there read-only is the role's setting (docs/replicas.md). */
  pooler: boolean;
  logger: SystemLogger;
}

/**
 * The management reads' `Sql` on a hot-standby replica (`database.readUrl`). Only the repositories
 * of management reads get it (see `createRepositories`); nothing that decides ever does, as a
 * standby may lag. When the replica does not answer, reads go to the primary or fail
 * (`readFallback`), and the change is logged once each way: never silently.
 */
export class ReadReplica implements Sql {
  readonly target: string;
  private readonly replicaOnly: Sql;
  private retryAt = 0;
  private lostWith?: string;
  /** The startup checks: run again on the first answer when the replica was down at startup. */
  private verified = false;
  private verifying?: Promise<void>;
  /** A replica that failed its checks after startup is never used again. */
  private refused?: DbosConfigurationError;

  private constructor(
    private readonly pool: Pool,
    private readonly setup: ReadReplicaSetup,
  ) {
    this.target = describeTarget({ url: setup.readUrl });
    this.replicaOnly = sqlOver(pool, setup.statements);
  }

  /**
   * Opens the replica's pool and checks it (see `checkReplica`). A replica that fails the checks is
   * a DbosConfigurationError; one that does not answer is logged, and checked when it answers.
   */
  static async open(setup: ReadReplicaSetup): Promise<ReadReplica> {
    const pool = new Pool(replicaConnection(setup));
    // An idle connection that breaks (replica restart) is reported by the next read, not as a crash.
    pool.on('error', () => undefined);
    const replica = new ReadReplica(pool, setup);
    try {
      await replica.verify();
    } catch (err) {
      if (!isConnectionError(err)) {
        await pool.end().catch(() => undefined);
        throw err;
      }
      replica.lost(err);
    }
    return replica;
  }

  query<R extends QueryResultRow = QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return this.read(
      (pool) => pool.query<R>({ ...this.setup.statements.prepared(text), values }),
      () => this.setup.primary.query<R>(text, values),
    );
  }

  unnamed<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    return this.read(
      (pool) => pool.query<R>(this.setup.statements.text(text), values),
      () => this.setup.primary.unnamed<R>(text, values),
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async read<R extends QueryResultRow>(onReplica: (pool: Pool) => Promise<QueryResult<R>>, onPrimary: () => Promise<R[]>): Promise<R[]> {
    if (this.refused || Date.now() < this.retryAt) return this.instead(onPrimary);
    try {
      if (!this.verified) await this.verify();
      const rows = (await onReplica(this.pool)).rows;
      this.answered();
      return rows;
    } catch (err) {
      if (err instanceof DbosConfigurationError && !this.verified) {
        this.refuse(err);
        return this.instead(onPrimary);
      }
      // A write refused (25006) is the replica answering, read-only as it is: the statement's fault, not an outage.
      if (!isConnectionError(err) || isReadOnlyRefusal(err)) throw namedStatementLost(err) ?? err;
      this.lost(err);
      return this.instead(onPrimary);
    }
  }

  /** The checks, once: concurrent first reads share one run; a run cut short by a lost connection is run again later. */
  private verify(): Promise<void> {
    this.verifying ??= this.check().catch((err: unknown) => {
      this.verifying = undefined;
      throw err;
    });
    return this.verifying;
  }

  private async check(): Promise<void> {
    const warning = await checkReplica({
      replica: this.replicaOnly,
      primary: this.setup.primary,
      schema: this.setup.schema,
      replicaTarget: this.target,
      primaryTarget: this.setup.primaryTarget,
    });
    if (warning) this.setup.logger.warn(warning);
    this.verified = true;
  }

  /** The reads the replica cannot take: on the primary, or DbosDatabaseUnavailableError with `readFallback: 'fail'`. */
  private instead<R>(onPrimary: () => Promise<R[]>): Promise<R[]> {
    if (this.setup.readFallback !== 'fail') return onPrimary();
    const why = this.refused?.message ?? this.lostWith ?? 'it does not answer';
    return Promise.reject(new DbosDatabaseUnavailableError(`${this.target} (database.readUrl, readFallback: 'fail')`, why));
  }

  private lost(err: unknown): void {
    this.retryAt = Date.now() + REPLICA_RETRY_MS;
    if (this.lostWith !== undefined) return;
    this.lostWith = (err as Error).message;
    this.setup.logger.warn(
      `Read replica ${this.target} does not answer (${this.lostWith}): management reads (list, listSteps, queueStats, the dashboard) ` +
        `${this.whereReadsGo()} until it answers again; it is tried again every ${REPLICA_RETRY_MS / 1000} s.`,
    );
  }

  private answered(): void {
    if (this.lostWith === undefined) return;
    this.lostWith = undefined;
    this.setup.logger.log(`Read replica ${this.target} answers again: management reads go to it.`);
  }

  private refuse(err: DbosConfigurationError): void {
    if (this.refused) return;
    this.refused = err;
    this.setup.logger.warn(`${err.message} Until the app restarts, management reads ${this.whereReadsGo()}.`);
  }

  private whereReadsGo(): string {
    return this.setup.readFallback === 'fail'
      ? `fail with DbosDatabaseUnavailableError (readFallback: 'fail')`
      : `go to the primary ${this.setup.primaryTarget} (readFallback: 'primary')`;
  }
}

/** The primary pool's settings with the address and login of `readUrl`, read-only, `readPoolSize` connections. */
function replicaConnection(setup: ReadReplicaSetup): ClientConfig & { max: number } {
  const settings: ClientConfig = { ...setup.connection };
  for (const key of ['host', 'port', 'user', 'password', 'database', 'connectionString', 'options'] as const) delete settings[key];
  const readOnly = setup.pooler ? {} : { options: '-c default_transaction_read_only=on' };
  return { ...settings, ...readOnly, connectionString: setup.readUrl, max: setup.readPoolSize ?? DEFAULT_READ_POOL_SIZE };
}
