import { EntitySchema } from 'typeorm';
import { bigintAsNumber } from './bigint.transformer';

export interface WorkflowStatusRow {
  workflowId: string;
  status: string;
  workflowName: string;
  className: string | null;
  inputs: string | null;
  output: string | null;
  error: string | null;
  executorId: string | null;
  applicationVersion: string | null;
  recoveryAttempts: number;
  queueName: string | null;
  priority: number;
  deduplicationId: string | null;
  partitionKey: string | null;
  delayUntil: number | null;
  timeoutMs: number | null;
  deadline: number | null;
  parentWorkflowId: string | null;
  forkedFrom: string | null;
  startedAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** Counts the runs the workflow was handed to; a run writes only while it is still the current one. */
  runEpoch: number;
}


export function workflowStatusEntity(schema: string): EntitySchema<WorkflowStatusRow> {
  return new EntitySchema<WorkflowStatusRow>({
    name: 'DbosWorkflowStatus',
    tableName: 'workflow_status',
    schema,
    columns: {
      workflowId: { name: 'workflow_id', type: 'text', primary: true },
      status: { type: 'text' },
      workflowName: { name: 'workflow_name', type: 'text' },
      className: { name: 'class_name', type: 'text', nullable: true },
      inputs: { type: 'text', nullable: true },
      output: { type: 'text', nullable: true },
      error: { type: 'text', nullable: true },
      executorId: { name: 'executor_id', type: 'text', nullable: true },
      applicationVersion: { name: 'application_version', type: 'text', nullable: true },
      recoveryAttempts: { name: 'recovery_attempts', type: 'integer', default: 0 },
      queueName: { name: 'queue_name', type: 'text', nullable: true },
      priority: { type: 'integer', default: 0 },
      deduplicationId: { name: 'deduplication_id', type: 'text', nullable: true },
      partitionKey: { name: 'partition_key', type: 'text', nullable: true },
      delayUntil: { name: 'delay_until', type: 'bigint', nullable: true, transformer: bigintAsNumber },
      timeoutMs: { name: 'timeout_ms', type: 'bigint', nullable: true, transformer: bigintAsNumber },
      deadline: { type: 'bigint', nullable: true, transformer: bigintAsNumber },
      parentWorkflowId: { name: 'parent_workflow_id', type: 'text', nullable: true },
      forkedFrom: { name: 'forked_from', type: 'text', nullable: true },
      startedAt: { name: 'started_at', type: 'bigint', nullable: true, transformer: bigintAsNumber },
      createdAt: { name: 'created_at', type: 'bigint', transformer: bigintAsNumber },
      updatedAt: { name: 'updated_at', type: 'bigint', transformer: bigintAsNumber },
      runEpoch: { name: 'run_epoch', type: 'integer', default: 0 },
    },
  });
}
