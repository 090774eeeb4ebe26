import type { ModuleRef } from '@nestjs/core';
import type { RecoveryService } from '../recovery/recovery.service';
import type { NotificationListener } from '../system-database/notification.listener';
import type { SystemDatabase } from '../system-database/system.database';
import { resolveHealthIndicatorService, type HealthIndicatorServiceLike } from './health-indicator.service';

/** Liveness: the process answers and the workflow database does. */
export interface DbosLivenessDetails {
  status: 'up' | 'down';
  database: 'up' | 'down';
  /** Why the database did not answer. */
  error?: string;
}

/** Readiness: live, LISTEN connected (or polling by configuration), and recovery of this executor's pending workflows done. */
export interface DbosHealthDetails extends DbosLivenessDetails {
  /** `polling`: no LISTEN connection by configuration (a transaction pooler without `listenUrl`). */
  listener: 'up' | 'down' | 'polling';
  recovery: 'done' | 'running';
}

export type DbosLivenessResult = Record<string, DbosLivenessDetails>;
export type DbosHealthResult = Record<string, DbosHealthDetails>;

const PING_TIMEOUT_MS = 2_000;

/**
 * Health of the workflow engine for @nestjs/terminus:
 * `this.health.check([() => this.dbos.isAlive('workflows')])` for liveness,
 * `this.health.check([() => this.dbos.isReady('workflows')])` for readiness.
 * It never throws: a `down` result makes terminus answer 503 with the details. Without terminus
 * installed it returns the same `{ [key]: { status, ... } }` objects.
 */
export class DbosHealthIndicator {
  private indicators?: HealthIndicatorServiceLike;

  constructor(
    private readonly system: SystemDatabase,
    private readonly listener: NotificationListener,
    private readonly recovery: RecoveryService,
    private readonly moduleRef?: ModuleRef,
  ) {}

  /** Up when the workflow database answers (within 2 s). */
  async isAlive(key = 'dbos'): Promise<DbosLivenessResult> {
    return this.report(key, await this.liveness()) as DbosLivenessResult;
  }

  /** Up when the database answers, the LISTEN connection is alive (or polling by configuration) and recovery has finished. */
  async isReady(key = 'dbos'): Promise<DbosHealthResult> {
    const live = await this.liveness();
    const listener = this.listener.isListening ? 'up' : this.listener.isPollOnly ? 'polling' : 'down';
    const recovery = this.recovery.isRecovered ? 'done' : 'running';
    const up = live.database === 'up' && listener !== 'down' && recovery === 'done';
    const details: DbosHealthDetails = { ...live, status: up ? 'up' : 'down', listener, recovery };
    return this.report(key, details) as DbosHealthResult;
  }

  /** The readiness check under its first name. */
  isHealthy(key = 'dbos'): Promise<DbosHealthResult> {
    return this.isReady(key);
  }

  /** Resolves when recovery of this executor's pending workflows is done (readiness). */
  whenReady(): Promise<void> {
    return this.recovery.whenRecovered().then(() => undefined);
  }

  private async liveness(): Promise<DbosLivenessDetails> {
    try {
      await withTimeout(this.system.query('SELECT 1'), PING_TIMEOUT_MS);
      return { status: 'up', database: 'up' };
    } catch (err) {
      return { status: 'down', database: 'down', error: (err as Error).message };
    }
  }

  private report(key: string, { status, ...details }: DbosLivenessDetails): Record<string, unknown> {
    this.indicators ??= resolveHealthIndicatorService(this.moduleRef);
    const session = this.indicators.check(key);
    return status === 'up' ? session.up(details) : session.down(details);
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
