import type { EntityManager } from 'typeorm';
import { DbosConfigurationError } from '../errors/configuration.error';
import type { Sql } from '../system-database/sql';
import type { SystemDatabase } from '../system-database/system.database';
import { quoteSchemaName } from '../system-database/schema-name.util';
import { databaseMismatch } from '../transactions/same-database.check';

/**
 * The system schema's statements inside an app's TypeORM transaction (an `entityManager` given to
 * the client's `start`, `enqueue` or `send`): what they write commits or rolls back with the app's
 * data. Refuses an EntityManager outside a transaction, or on another database.
 */
export class AppTransactionSql {
  /** DataSources already seen on the system database (one check each: a DataSource's target does not move). */
  private readonly checked = new WeakSet<object>();

  constructor(private readonly system: SystemDatabase) {}

  async on(entityManager: EntityManager, operation: string): Promise<Sql> {
    const runner = entityManager?.queryRunner;
    if (!runner || !runner.isTransactionActive) {
      // Written on its own, the row would commit at once, whatever the app's transaction does
      // later: the very dual write entityManager is there to prevent.
      throw new DbosConfigurationError(
        `${operation} was given an entityManager that is not in a transaction. Pass the EntityManager of a transaction ` +
          '(`dataSource.transaction(async (em) => ...)`, or a QueryRunner after startTransaction()), or leave entityManager out to write on its own.',
      );
    }
    const query = (text: string, values?: unknown[]) => entityManager.query(text, values) as Promise<Record<string, unknown>[]>;
    if (!this.checked.has(entityManager.connection)) {
      const checkpoints = `${quoteSchemaName(this.system.schema)}.operation_outputs`;
      const mismatch = await databaseMismatch(query, checkpoints, (text, values) => this.system.unnamed(text, values));
      if (mismatch !== null) {
        throw new DbosConfigurationError(
          `${operation} was given an entityManager connected to ${mismatch}. The workflow's row is written in that transaction, ` +
            'so it must be on the system database: use an EntityManager of a DataSource on the same database as database.url, or leave entityManager out.',
        );
      }
      this.checked.add(entityManager.connection);
    }
    return this.system.on(query);
  }
}
