import { workflowContextStorage } from '../context/workflow-context.storage';
import type { WorkflowRegistry } from '../discovery/workflow.registry';
import { DbosNotFoundError } from '../errors/not-found.error';
import { DbosTimeoutError } from '../errors/timeout.error';
import { WorkflowRun } from '../execution/workflow.run';
import { deserialize } from '../serialization/value.codec';
import type { CheckpointRepository } from '../system-database/checkpoint.repository';
import type { OperationOutputRow, WorkflowStatusRow } from '../system-database/system.rows';
import type { ListingRepository } from '../system-database/listing.repository';
import { ReplayCheck } from './replay.check';

/** Replays of one workflow body that take longer than this (it awaits something not checkpointed) fail. */
const DEFAULT_REPLAY_TIMEOUT_MS = 30_000;

export interface ReplayOptions {
  timeoutMs?: number;
}

/**
 * Re-runs recorded workflows' code against their checkpoints without executing any operation and
 * without writing anything. A finished workflow (SUCCESS, ERROR) must take exactly its recorded
 * positions, each with the recorded name; any other one (PENDING, ...) must match its record up to
 * its frontier, where the replay stops, compatible so far.
 */
export class WorkflowReplayer {
  constructor(
    private readonly registry: WorkflowRegistry,
    private readonly listing: Pick<ListingRepository, 'get'>,
    private readonly checkpoints: Pick<CheckpointRepository, 'loadAll'>,
  ) {}

  /** Resolves when the code still takes the recorded path; rejects with DbosNondeterminismError where it diverges. */
  async replay(workflowId: string, options: ReplayOptions = {}): Promise<void> {
    const row = await this.listing.get(workflowId);
    if (!row) throw new DbosNotFoundError(`Cannot replay workflow "${workflowId}": no workflow has that id.`);
    await this.replayStatus(row, options);
  }

  /** replay() of a status row read already: only its checkpoints are read. */
  async replayStatus(row: WorkflowStatusRow, options: ReplayOptions = {}): Promise<void> {
    await this.replayRow(row, await this.checkpoints.loadAll(row.workflowId), options);
  }

  /** replay() of a row read already, with its checkpoints. */
  async replayRow(row: WorkflowStatusRow, steps: OperationOutputRow[], options: ReplayOptions = {}): Promise<void> {
    const registration = this.registry.getWorkflow(row.workflowName);
    if (!registration) {
      throw new DbosNotFoundError(`Cannot replay workflow "${row.workflowId}": no provider registers "${row.workflowName}" in this code.`);
    }
    const args = deserialize<unknown[]>(row.inputs) ?? [];
    const recorded = new Map(steps.map((s) => [s.stepId, s]));
    const check = new ReplayCheck(row.workflowId, row.status === 'SUCCESS' || row.status === 'ERROR');
    const abort = new AbortController();
    const run = new WorkflowRun({
      workflowId: row.workflowId,
      workflowName: row.workflowName,
      epoch: row.runEpoch,
      deadline: null,
      queueName: null,
      recorded,
      generation: 0,
      stopSignal: abort.signal,
      checkpoints: { record: () => Promise.reject(new Error('a replay check writes no checkpoint')) },
      replayOnly: check,
    });
    const body = workflowContextStorage.run({ run }, async () => registration.method.apply(registration.instance, args));
    // The body's own failure (a recorded step error it rethrows) is how the recorded run ended too.
    await withinTimeout(
      body.catch(() => undefined),
      options.timeoutMs ?? DEFAULT_REPLAY_TIMEOUT_MS,
      row.workflowId,
    );
    check.checkEnd(run.positionsTaken, recorded);
    if (check.divergence) throw check.divergence;
  }
}

async function withinTimeout(work: Promise<unknown>, timeoutMs: number, workflowId: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new DbosTimeoutError(workflowId, `its replay did not end within ${timeoutMs} ms: the body awaits something that is not a checkpointed operation.`),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
