import type { ListWorkflowsOptions } from '../interfaces/workflow-status.interface';
import { loadSteps } from './checkpoint.repository';
import { ListingRepository } from './listing.repository';
import { queueStatsOn, type QueueStats } from './queue.repository';
import type { Sql } from './sql';
import type { PayloadCodec } from '../payloads/payload.codec';
import type { OperationOutputRow, WorkflowStatusRow } from './system.rows';

/**
 * The reads of management and display: the client's `list`, `listPage`, `listSteps`,
 * `queueStats` and `getStatus(id, { fromReplica: true })`. They run on `SystemDatabase.reads`:
 * the read replica when `database.readUrl` is set, which may lag the primary, so nothing that
 * decides (a claim, a dedup check, a result, a wait, an action's precondition) reads through here.
 */
export class ManagementReadsRepository {
  private readonly listing: ListingRepository;

  constructor(
    private readonly sql: Sql,
    private readonly payloads: PayloadCodec,
  ) {
    this.listing = new ListingRepository(sql, payloads);
  }

  list(options: ListWorkflowsOptions): Promise<WorkflowStatusRow[]> {
    return this.listing.list(options);
  }

  status(workflowId: string): Promise<WorkflowStatusRow | null> {
    return this.listing.get(workflowId);
  }

  steps(workflowId: string): Promise<OperationOutputRow[]> {
    return loadSteps(this.sql, workflowId, this.payloads);
  }

  queueStats(): Promise<QueueStats[]> {
    return queueStatsOn(this.sql);
  }
}
