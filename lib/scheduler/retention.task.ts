import { Logger } from '@nestjs/common';
import type { RetentionOptions } from '../interfaces/dbos-module-options.interface';
import type { AdminRepository } from '../system-database/admin.repository';

/** Automatic retention: every process may run it; batches skip rows another process is deleting. */
export class RetentionTask {
  private readonly logger = new Logger(RetentionTask.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly admin: AdminRepository,
    private readonly options: Required<RetentionOptions> | undefined,
  ) {}

  /** Deletes now and then every `intervalMs`; does nothing without the `retention` option. */
  start(): void {
    if (!this.options) return;
    this.timer = setInterval(() => void this.runOnce(), this.options.intervalMs);
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
