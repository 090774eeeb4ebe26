import type { WorkflowStatusInfo } from '../interfaces/workflow-status.interface';
import { WorkflowHandle, type GetResultOptions, type GetStatusOptions, type HandleBackend } from './workflow.handle';

/** Runs a read as a checkpointed operation of the calling workflow (a plain read outside one). */
export type CheckpointedRead = <T>(name: string, read: () => Promise<T>) => Promise<T>;

/** A child's handle inside its parent: reading its result or status is a checkpointed operation. */
export class ChildWorkflowHandle<R = unknown> extends WorkflowHandle<R> {
  constructor(
    workflowId: string,
    backend: HandleBackend,
    private readonly checkpointed: CheckpointedRead,
  ) {
    super(workflowId, backend);
  }

  override getResult(options: GetResultOptions = {}): Promise<R> {
    return this.checkpointed('DBOS.getResult', () => super.getResult(options));
  }

  override getStatus(options: GetStatusOptions = {}): Promise<WorkflowStatusInfo | null> {
    return this.checkpointed('DBOS.getStatus', () => super.getStatus(options));
  }
}
