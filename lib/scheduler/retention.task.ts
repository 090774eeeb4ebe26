import { Logger } from '@nestjs/common';
import type { WorkflowAdmin } from '../system-database/workflow-admin';

/** How often retention runs unless `retention.intervalMs` says otherwise. */
const DEFAULT_RETENTION_INTERVAL_MS = 3_600_000;

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
    private readonly admin: WorkflowAdmin,
    private readonly options: RetentionOptions | undefined,
  ) {}

  /** Deletes now and then every `intervalMs`; does nothing without the `retention` option. */
  start(): void {
    if (!this.options) return;
    const interval = this.options.intervalMs ?? DEFAULT_RETENTION_INTERVAL_MS;
    this.timer = setInterval(() => void this.runOnce(), interval);
    this.timer.unref();
    void this.runOnce();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async runOnce(): Promise<number> {
    try {
      if (!this.options) return 0;
      const deleted = await this.admin.deleteFinishedBefore(Date.now() - this.options.olderThanMs);
      if (deleted > 0) this.logger.log(`Retention deleted ${deleted} finished workflow(s)`);
      return deleted;
    } catch (err) {
      this.logger.error(`Retention failed: ${(err as Error).message}`, (err as Error).stack);
      return 0;
    }
  }
}
