import type { EntityManager } from 'typeorm';
import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import type { CommunicationRepository, SendResult } from '../system-database/communication.repository';
import type { QueueRepository } from '../system-database/queue.repository';
import type { NewWorkflowRow, RunLifecycleRepository } from '../system-database/run-lifecycle.repository';
import type { SystemDatabase } from '../system-database/system.database';
import { resolveExisting } from '../workflow/enqueue.checks';
import { AppTransactionSql } from './app-transaction.sql';

export interface InserterBackend {
  lifecycle: RunLifecycleRepository;
  queues: QueueRepository;
  communication: CommunicationRepository;
  system: SystemDatabase;
}

/** A message as the client sends it (see CommunicationRepository.send). */
export type OutgoingMessage = Parameters<CommunicationRepository['send']>[1];

/**
 * The client's writes of new workflows and messages: on their own (a start is batched with
 * concurrent ones), or, given an `entityManager`, inside the app's transaction, so they exist
 * exactly when the app's data committed (a transactional outbox without an outbox table).
 */
export class WorkflowInserter {
  private readonly appSql: AppTransactionSql;

  constructor(private readonly backend: InserterBackend) {
    this.appSql = new AppTransactionSql(backend.system);
  }

  /**
   * Writes the row of a start and returns the id of the workflow the start names: the new one,
   * or the one already there (an idempotent start; DbosConflictError for another workflow or a
   * taken deduplication id). In the app's transaction the row is ENQUEUED: a dispatcher claims it
   * only once the transaction commits, and the queue's NOTIFY is delivered at that commit.
   */
  async insert(row: NewWorkflowRow, options: StartWorkflowOptions, entityManager: EntityManager | undefined, operation: string): Promise<string> {
    const { lifecycle } = this.backend;
    const result = entityManager ? await lifecycle.insertIn(await this.appSql.on(entityManager, operation), row) : await lifecycle.insert(row);
    if (result.inserted) return row.workflowId;
    return resolveExisting(this.backend.queues, result.existing, row.workflowName, row.workflowId, options);
  }

  /** Sends a message, in the app's transaction when `entityManager` is given (delivered, and announced, at its commit). */
  async send(message: OutgoingMessage, entityManager: EntityManager | undefined): Promise<SendResult> {
    return this.backend.communication.send(entityManager ? await this.appSql.on(entityManager, 'send()') : undefined, message);
  }
}
