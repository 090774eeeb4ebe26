import { Logger } from '@nestjs/common';
import type { WorkflowStatusRepository } from '../system-database/workflow-status.repository';

export interface RetentionOptions {
  /** Finished workflows created longer ago than this are deleted, with everything they own. */
  olderThanMs: number;
  /** How often to delete. Default one hour. */
  intervalMs?: number;
}

/** Automatic retention: every process may run it; batches skip rows another process is deleting. */
export class RetentionTask {
  private readonly logger = new Logger(RetentionTask.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly statuses: WorkflowStatusRepository,
    private readonly options: RetentionOptions,
  ) {}

  start(): void {
    const interval = this.options.intervalMs ?? 3_600_000;
    this.timer = setInterval(() => void this.runOnce(), interval);
    this.timer.unref();
    void this.runOnce();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async runOnce(): Promise<number> {
    try {
      const deleted = await this.statuses.deleteFinishedBefore(Date.now() - this.options.olderThanMs);
      if (deleted > 0) this.logger.log(`Retention deleted ${deleted} finished workflow(s)`);
      return deleted;
    } catch (err) {
      this.logger.error(`Retention failed: ${(err as Error).message}`, (err as Error).stack);
      return 0;
    }
  }
}
