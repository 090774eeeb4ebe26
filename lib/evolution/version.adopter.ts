import { Logger } from '@nestjs/common';
import type { WorkflowRegistry } from '../discovery/workflow.registry';
import { DbosNondeterminismError } from '../errors/nondeterminism.error';
import type { ExecutorSettings } from '../execution/executor.settings';
import type { RunningWorkflows } from '../execution/running-workflows.table';
import type { WorkflowResumer } from '../recovery/workflow.resumer';
import type { CheckpointRepository } from '../system-database/checkpoint.repository';
import type { VersionAdoptionRepository } from '../system-database/version-adoption.repository';
import type { WorkflowReplayer } from './workflow.replayer';
import { storedWorkflowLabel } from '../observability/log-label';

/** Stranded workflows checked per scan. */
const SCAN_BATCH = 100;

/**
 * Deploys never strand work: once no live executor of an older version remains, this executor
 * dry-replays each PENDING workflow of that version against its own code and adopts (fenced, new
 * epoch, its own version) those that replay cleanly; the ones that diverge stay PENDING on their
 * version and are logged once each. Off when the application version is configured explicitly.
 */
export class VersionAdopter {
  private readonly logger = new Logger(VersionAdopter.name);
  /** Workflows found divergent (logged once each), with the epoch they were checked at. */
  private readonly divergent = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private scanning?: Promise<number>;

  constructor(
    private readonly repository: VersionAdoptionRepository,
    private readonly checkpoints: CheckpointRepository,
    private readonly replayer: WorkflowReplayer,
    private readonly resumer: WorkflowResumer,
    private readonly registry: WorkflowRegistry,
    private readonly runs: RunningWorkflows,
    private readonly settings: ExecutorSettings,
    private readonly enabled: boolean,
  ) {}

  start(intervalMs: number): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => void this.scan(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.scanning;
  }

  /** One scan (never two at once); resolves with how many workflows were adopted. */
  scan(): Promise<number> {
    this.scanning ??= this.adoptStranded()
      .catch((err: Error) => {
        this.logger.error(`Scan for workflows of older versions failed: ${err.message}`, err.stack);
        return 0;
      })
      .finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async adoptStranded(): Promise<number> {
    if (!this.enabled || !this.runs.isAccepting) return 0;
    const { executorId, applicationVersion, executorLeaseMs } = this.settings;
    const rows = await this.repository.stranded(applicationVersion, executorLeaseMs, this.registry.workflowNames(), SCAN_BATCH + this.divergent.size);
    let adopted = 0;
    for (const row of rows) {
      if (!this.runs.isAccepting) break;
      if (this.divergent.get(row.workflowId) === row.runEpoch) continue;
      const problem = await this.replayer.replayRow(row, await this.checkpoints.loadAll(row.workflowId)).then(
        () => undefined,
        (err: Error) => err,
      );
      if (problem) {
        this.divergent.set(row.workflowId, row.runEpoch);
        const where = problem instanceof DbosNondeterminismError ? ` at step ${problem.stepId}` : '';
        this.logger.warn(
          `${storedWorkflowLabel(row)} (${row.workflowName}) of version "${row.applicationVersion}" stays PENDING on its version: ` +
            `it diverges from this code${where}: ${problem.message} List such workflows with "nestjs-dbos versions"; fork or cancel them.`,
        );
        continue;
      }
      const claimed = await this.repository.adopt(row, executorId, applicationVersion, executorLeaseMs);
      if (!claimed) continue;
      this.logger.log(
        `${storedWorkflowLabel(row)} (${row.workflowName}) moves from version "${row.applicationVersion}" to "${applicationVersion}": it replays cleanly`,
      );
      const registration = this.registry.getWorkflow(row.workflowName)!;
      adopted += await this.resumer.runClaimed([{ row: claimed, registration, previousExecutorId: row.executorId ?? '' }], 'version');
    }
    return adopted;
  }
}
