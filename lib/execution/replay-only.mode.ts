import type { OperationOutputRow } from '../system-database/system.rows';

/**
 * A run that only checks the workflow's code against its checkpoints: it executes nothing and
 * writes nothing. Each position the body takes is shown to `take`, which throws when the code
 * diverges from the record or reaches a position beyond it (see evolution/workflow.replayer.ts).
 */
export interface ReplayOnlyMode {
  /** The recorded run ended (SUCCESS, ERROR): a patch it never reached was not taken. */
  readonly finished: boolean;
  /** Called as the body takes position `stepId` for operation `name`; throws to stop the body there. */
  take(stepId: number, name: string, recorded: OperationOutputRow | undefined): void;
}
