import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import type { WorkflowRegistry } from '../discovery/workflow.registry';
import type { ExecutorSettings } from '../execution/executor.settings';
import type { LeaseGate } from '../execution/lease.gate';
import type { RunningWorkflows } from '../execution/running-workflows.table';
import type { DedicatedConnection } from '../system-database/dedicated.connection';
import type { ExecutorRepository } from '../system-database/executor.repository';
import type { WorkflowResumer } from './workflow.resumer';

/** Orphans adopted (and their checkpoints read) per statement. */
const ADOPTION_BATCH = 500;

/**
 * Registers this process as an executor and heartbeats. A live executor adopts the PENDING
 * workflows of an executor of the same version that has been silent longer than the lease.
 * After its own heartbeats failed (an outage), it waits a full lease of healthy heartbeats
 * before adopting anything, so executors that were merely cut off are not robbed.
 */
export class ExecutorMonitor {
  private readonly logger = new Logger(ExecutorMonitor.name);
  private readonly instanceId = randomUUID();
  private timer?: NodeJS.Timeout;
  private healthySince = 0;
  private ticking?: Promise<void>;
  private adopting?: Promise<void>;

  constructor(
    private readonly executors: ExecutorRepository,
    private readonly runs: RunningWorkflows,
    private readonly gate: LeaseGate,
    private readonly resumer: WorkflowResumer,
    private readonly registry: WorkflowRegistry,
    private readonly settings: ExecutorSettings,
    /** Heartbeats go over it, not the pool. */
    private readonly heartbeats: DedicatedConnection,
  ) {}

  private get leaseMs(): number {
    return this.settings.executorLeaseMs;
  }

  async start(): Promise<void> {
    try {
      await this.warnIfIdInUse(this.settings.executorId);
      await this.register();
      this.gate.noteHeartbeat();
      this.healthySince = Date.now();
    } catch (err) {
      // The database blinked during startup: the next heartbeat registers this executor.
      this.logger.warn(`Could not register executor "${this.settings.executorId}" yet: ${(err as Error).message}`);
    }
    // Six beats a lease: one slow beat does not make this executor stale to itself (half a lease).
    const interval = Math.max(50, Math.floor(this.leaseMs / 6));
    this.timer = setInterval(() => {
      this.ticking ??= this.tick().finally(() => (this.ticking = undefined));
    }, interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
    await this.adopting;
    // With steps still running (shutdown timed out), stay registered: adopting those now would run them twice.
    if (this.runs.size === 0) {
      await this.executors.unregister(this.settings.executorId, this.instanceId).catch(() => undefined);
    }
    await this.heartbeats.close();
  }

  /**
   * One heartbeat, then (when healthy for a lease) an adoption scan in the background: a long
   * takeover must not hold up the heartbeats, or the adopter would look dead itself.
   */
  async tick(): Promise<void> {
    const now = Date.now();
    try {
      await this.register();
      this.gate.noteHeartbeat();
    } catch (err) {
      if (this.healthySince !== 0) this.logger.warn(`Heartbeat failed: ${(err as Error).message}`);
      this.healthySince = 0;
      return;
    }
    if (this.healthySince === 0) this.healthySince = now;
    if (now - this.healthySince < this.leaseMs || !this.runs.isAccepting) return;
    this.adopting ??= this.adoptOrphans()
      .then(
        () => undefined,
        (err: Error) => this.logger.error(`Adoption scan failed: ${err.message}`, err.stack),
      )
      .finally(() => (this.adopting = undefined));
  }

  /**
   * Adopts orphans in batches (one statement each, oldest first, rows another adopter holds
   * skipped), up to this executor's share: the orphans over the live executors of this version,
   * so a dead executor's workflows spread over all of them. What is left (an adopter died too) is
   * taken at a later scan. Heartbeats keep going meanwhile: they have their own connection and
   * timer, and each batch yields to them.
   */
  async adoptOrphans(): Promise<number> {
    const { executorId, applicationVersion } = this.settings;
    const names = this.registry.workflowNames();
    const orphans = await this.executors.countOrphans(applicationVersion, executorId, this.leaseMs, names);
    if (orphans === 0) return 0;
    const live = Math.max(1, await this.executors.countLive(applicationVersion, this.leaseMs));
    let share = Math.ceil(orphans / live);
    let adopted = 0;
    while (share > 0 && this.runs.isAccepting) {
      const rows = await this.executors.adoptBatch(applicationVersion, executorId, this.leaseMs, names, Math.min(ADOPTION_BATCH, share));
      if (rows.length === 0) break;
      share -= rows.length;
      adopted += await this.resumer.runClaimed(
        rows.map(({ row, previousExecutorId }) => ({ row, previousExecutorId, registration: this.registry.getWorkflow(row.workflowName)! })),
        'adoption',
      );
    }
    return adopted; // each one logged by the resumer
  }

  /** Registers (or re-registers) this executor with a fresh heartbeat, on the heartbeat connection. */
  private register(): Promise<void> {
    const { executorId, applicationVersion } = this.settings;
    return this.executors.register(this.heartbeats, { executorId, applicationVersion, hostname: hostname(), pid: process.pid, instanceId: this.instanceId });
  }

  private async warnIfIdInUse(executorId: string): Promise<void> {
    const existing = await this.executors.get(executorId);
    if (!existing || existing.heartbeatAgeMs > this.leaseMs) return;
    const sameHost = existing.hostname === hostname();
    if (sameHost && (existing.pid === process.pid || !isAlive(existing.pid))) return; // our own earlier life
    this.logger.warn(
      `Executor id "${executorId}" heartbeated ${existing.heartbeatAgeMs} ms ago from pid ${existing.pid} on ${existing.hostname}. ` +
        `If that process is still running, both will recover the same workflows: give every instance its own executorId.`,
    );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
