import { Logger } from '@nestjs/common';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { ResolvedDbosOptions } from './dbos.options';
import type { TransactionAdapter } from './interfaces/transaction-adapter.interface';
import { checkSameDatabase } from './transactions/same-database.check';
import { typeOrmTransactions } from './transactions/typeorm.transactions';
import type { WorkflowClock } from './common/clock';
import { describeTarget } from './common/database-target.util';
import { settleWithin } from './common/settle-within.util';
import { asUnavailable } from './system-database/connection-errors.util';
import { quoteSchemaName } from './system-database/schema-name.util';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres/embedded-postgres.server';
import type { NotificationListener } from './system-database/notification.listener';
import { createListener, createRepositories, type SystemRepositories } from './system-database/system.repositories';
import { routingOf } from './system-database/connection.options';
import { retryWhileUnreachable, SystemDatabase } from './system-database/system.database';
import { createPayloadCodec } from './payloads/payload.codec';

/** The module's open database: system tables, repositories, the LISTEN connection, and where @Transaction runs. */
export class DbosDatabase {
  readonly repositories: SystemRepositories;
  readonly listener: NotificationListener;
  private readonly closeTasks: (() => Promise<void>)[] = [];

  private constructor(
    readonly system: SystemDatabase,
    /** Where @Transaction runs: the `transactions` option, else TypeORM on `transactionDataSource`. */
    readonly transactions: TransactionAdapter,
    /** The DataSource of the default TypeORM transactions; none with `transactions`. */
    readonly transactionDataSource: DataSource | undefined,
    /** Set when `transactionDataSource` is the module's own (opened from a URL, or embedded): closed with it. */
    readonly ownTransactionDataSource: DataSource | undefined,
    private readonly embedded?: EmbeddedPostgresHandle,
    clock?: WorkflowClock,
  ) {
    this.repositories = createRepositories(system, clock);
    this.listener = createListener(system, new Logger('DbosNotifications'), clock);
    this.repositories.lifecycle.onOutcomes((ids) => this.listener.announce(ids));
  }

  /** `clock`: the module's workflow time (queue delays, wait deadlines); real time when not given. */
  static async open(options: ResolvedDbosOptions, clock?: WorkflowClock): Promise<DbosDatabase> {
    // A wrong key length is a configuration error before anything starts.
    const payloads = createPayloadCodec({ serializer: options.serializer, encryption: options.encryption });
    const appDataSource = options.database.dataSource;
    const { startupRetryMs } = options.database;
    if (appDataSource && !appDataSource.isInitialized) await DbosDatabase.initializeAppDataSource(appDataSource, startupRetryMs);
    let url = options.database.url;
    let embedded: EmbeddedPostgresHandle | undefined;
    if (!url && !appDataSource) {
      new Logger('DbosModule').warn(
        'No database configured: starting an EMBEDDED Postgres for DEVELOPMENT ONLY (where its data lives is logged next). ' +
          'Set database.url (or database.dataSource) in DbosModule.forRoot() for anything else.',
      );
      const embeddedLogger = new Logger('DbosEmbeddedPostgres');
      embedded = await startEmbeddedPostgres({ ...options.embedded, log: (message) => embeddedLogger.warn(message) });
      url = embedded.url;
    }
    const system = await SystemDatabase.open({
      url,
      dataSource: url ? undefined : appDataSource,
      schema: options.schema,
      poolSize: options.database.poolSize,
      runMigrations: options.runMigrations,
      startupRetryMs,
      statementTimeoutMs: options.database.statementTimeoutMs,
      applicationName: options.database.applicationName,
      ...routingOf(options.database),
      logger: new Logger('DbosDatabase'),
      payloads,
    }).catch(async (err) => {
      await embedded?.stop();
      throw err;
    });
    let ownTransactions: DataSource | undefined;
    try {
      if (options.transactions)
        await checkSameDatabase(options.transactions, `${quoteSchemaName(system.schema)}.operation_outputs`, (text, values) => system.unnamed(text, values));
      else if (!appDataSource) ownTransactions = await DbosDatabase.openTransactionDataSource(system, startupRetryMs, options.database.entities ?? []);
      const transactionDataSource = options.transactions ? undefined : (appDataSource ?? ownTransactions!);
      const transactions = options.transactions ?? typeOrmTransactions(transactionDataSource!);
      const database = new DbosDatabase(system, transactions, transactionDataSource, ownTransactions, embedded, clock);
      await database.listener.start();
      if (database.listener.isPollOnly) {
        new Logger('DbosNotifications').log(
          `No LISTEN connection (database.pooler 'transaction' without database.listenUrl): waiters poll every ${database.listener.pollIntervalMs} ms`,
        );
      }
      return database;
    } catch (err) {
      if (ownTransactions?.isInitialized) await ownTransactions.destroy().catch(() => undefined);
      await system.close().catch(() => undefined);
      await embedded?.stop().catch(() => undefined);
      throw err;
    }
  }

  /**
   * A DataSource handed over before it was initialized: initialized here, with the same startup
   * retries as the module's own pool (a database still coming up is waited for). It stays the
   * app's: the module never destroys it.
   */
  private static async initializeAppDataSource(dataSource: DataSource, startupRetryMs: number): Promise<void> {
    const logger = new Logger('DbosDatabase');
    const target = describeTarget({ dataSource });
    try {
      await retryWhileUnreachable(startupRetryMs, `initialize database.dataSource on ${target}`, logger, async () => {
        // Initialized meanwhile by its owner (e.g. a provider that awaits initialize() elsewhere).
        if (!dataSource.isInitialized) await dataSource.initialize();
      });
    } catch (err) {
      throw asUnavailable(err, target);
    }
    logger.log(`Initialized database.dataSource (${target}); the app owns it and destroys it at shutdown`);
  }

  /**
   * A pool for @Transaction of its own, beside the system pool: same connection settings and
   * size, but app transactions can never hold every connection the module's own work needs
   * (a send, a stream write, a start, the heartbeat), so module work inside a transaction
   * never waits on itself.
   */
  private static async openTransactionDataSource(system: SystemDatabase, startupRetryMs: number, entities: DataSourceOptions['entities']): Promise<DataSource> {
    // Opened right after the system pool, so a database that blinks now is retried as at startup.
    // The app's entities live in the app's schemas (search_path), not in the system schema.
    const options = {
      ...system.companionDataSourceOptions(`nestjs-dbos:${system.schema}:transactions`, 'transactions'),
      schema: undefined,
      entities,
      migrations: [],
    } as DataSourceOptions;
    try {
      return await retryWhileUnreachable(startupRetryMs, `open the @Transaction pool on ${system.target}`, new Logger('DbosDatabase'), async () => {
        const dataSource = new DataSource(options);
        try {
          return await dataSource.initialize();
        } catch (err) {
          await dataSource.destroy().catch(() => undefined);
          throw err;
        }
      });
    } catch (err) {
      throw asUnavailable(err, system.target);
    }
  }

  /**
   * Closes what the module opened; an app's own DataSource is left alone. A pool waits for its
   * checked-out connections; one stuck on a dead socket (after a partition) would hold shutdown
   * forever, so the closes are bounded and what is left is reported and left to the OS.
   */
  async close(): Promise<void> {
    const deadline = Date.now() + CLOSE_TIMEOUT_MS;
    const closing = [
      this.listener.close(),
      this.ownTransactionDataSource?.isInitialized ? this.ownTransactionDataSource.destroy() : Promise.resolve(),
      this.system.close(),
    ];
    if (!(await settleWithin(deadline, Promise.all(closing)))) {
      new Logger('DbosDatabase').warn(
        `Closing the module's connections took over ${CLOSE_TIMEOUT_MS} ms (some are stuck on dead sockets); shutdown goes on without them.`,
      );
    }
    for (const task of this.closeTasks) {
      await task().catch((err: Error) => new Logger('DbosDatabase').warn(`A task run at close failed: ${err.message}`));
    }
    await this.embedded?.stop();
  }

  /** Runs `task` once the module's connections are closed, while the database server is still up (a testing module drops its schema). */
  onClosed(task: () => Promise<void>): void {
    this.closeTasks.push(task);
  }
}

const CLOSE_TIMEOUT_MS = 3_000;
