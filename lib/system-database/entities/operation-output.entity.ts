import { EntitySchema } from 'typeorm';
import { bigintAsNumber } from './bigint.transformer';

export interface OperationOutputRow {
  workflowId: string;
  stepId: number;
  stepName: string;
  output: string | null;
  error: string | null;
  childWorkflowId: string | null;
  startedAt: number | null;
  completedAt: number | null;
}


export function operationOutputEntity(schema: string): EntitySchema<OperationOutputRow> {
  return new EntitySchema<OperationOutputRow>({
    name: 'DbosOperationOutput',
    tableName: 'operation_outputs',
    schema,
    columns: {
      workflowId: { name: 'workflow_id', type: 'text', primary: true },
      stepId: { name: 'step_id', type: 'integer', primary: true },
      stepName: { name: 'step_name', type: 'text' },
      output: { type: 'text', nullable: true },
      error: { type: 'text', nullable: true },
      childWorkflowId: { name: 'child_workflow_id', type: 'text', nullable: true },
      startedAt: { name: 'started_at', type: 'bigint', nullable: true, transformer: bigintAsNumber },
      completedAt: { name: 'completed_at', type: 'bigint', nullable: true, transformer: bigintAsNumber },
    },
  });
}
