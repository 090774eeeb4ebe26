import { DbosError } from '../errors/dbos.error';
import type { RecoveryService } from '../recovery/recovery.service';
import type { NotificationListener } from '../system-database/notification.listener';
import type { SystemDatabase } from '../system-database/system.database';

export interface DbosHealthDetails {
  status: 'up' | 'down';
  database: 'up' | 'down';
  listener: 'up' | 'down';
  recovery: 'done' | 'running';
  error?: string;
}

export type DbosHealthResult = Record<string, DbosHealthDetails>;

/** Thrown when unhealthy; `causes` has the same shape as a @nestjs/terminus HealthCheckError. */
export class DbosHealthCheckError extends DbosError {
  constructor(
    message: string,
    readonly causes: DbosHealthResult,
  ) {
    super(message);
  }
}

const PING_TIMEOUT_MS = 2_000;

/**
 * Health of the workflow engine, shaped for @nestjs/terminus:
 * `this.health.check([() => this.dbos.isHealthy('workflows')])`.
 * Up when the database answers, the LISTEN connection is alive and recovery has finished.
 */
export class DbosHealthIndicator {
  constructor(
    private readonly system: SystemDatabase,
    private readonly listener: NotificationListener,
    private readonly recovery: RecoveryService,
  ) {}

  async isHealthy(key = 'dbos'): Promise<DbosHealthResult> {
    const details = await this.details();
    const result = { [key]: details };
    if (details.status === 'down') throw new DbosHealthCheckError(`Workflow engine "${key}" is unhealthy`, result);
    return result;
  }

  /** Resolves when recovery of this executor's pending workflows is done (readiness). */
  whenReady(): Promise<void> {
    return this.recovery.whenRecovered().then(() => undefined);
  }

  private async details(): Promise<DbosHealthDetails> {
    let database: 'up' | 'down' = 'up';
    let error: string | undefined;
    try {
      await withTimeout(this.system.query('SELECT 1'), PING_TIMEOUT_MS);
    } catch (err) {
      database = 'down';
      error = (err as Error).message;
    }
    const listener = this.listener.isListening ? 'up' : 'down';
    const recovery = this.recovery.isRecovered ? 'done' : 'running';
    const status = database === 'up' && listener === 'up' && recovery === 'done' ? 'up' : 'down';
    return error === undefined ? { status, database, listener, recovery } : { status, database, listener, recovery, error };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
