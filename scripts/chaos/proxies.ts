/**
 * The fault proxies between one worker and the database (see run.ts): one for its pool (to
 * Postgres, or to PgBouncer with `--pooler transaction`), and with a pooler a second one for its
 * LISTEN connection, which goes straight to Postgres (`listenUrl`). A FaultProxy has one target,
 * so each path gets its own; every fault is applied to both at once, so a partition also cuts
 * the worker's notifications.
 */
import { FaultProxy } from '../../test/support/fault-proxy';

type Target = { host: string; port: number };

export class WorkerProxies {
  private constructor(
    /** In front of the worker's pool (`database.url`). */
    readonly pool: FaultProxy,
    /** In front of its LISTEN connection (`database.listenUrl`), when that has its own path. */
    readonly listen?: FaultProxy,
  ) {}

  static async start(pool: Target, listen?: Target): Promise<WorkerProxies> {
    const poolProxy = await FaultProxy.start({ target: pool });
    return new WorkerProxies(poolProxy, listen ? await FaultProxy.start({ target: listen }) : undefined);
  }

  private get all(): FaultProxy[] {
    return this.listen ? [this.pool, this.listen] : [this.pool];
  }

  /** The ports the worker connects to (the pool's first). */
  get ports(): string {
    return this.all.map((proxy) => proxy.port).join('+');
  }

  /** Connections open through them now. */
  get open(): number {
    return this.all.reduce((sum, proxy) => sum + proxy.counters.open, 0);
  }

  async blackhole(): Promise<void> {
    await Promise.all(this.all.map((proxy) => proxy.blackhole()));
  }

  async heal(): Promise<void> {
    await Promise.all(this.all.map((proxy) => proxy.heal()));
  }

  /** Resets every open connection; returns how many. */
  cut(): number {
    return this.all.reduce((sum, proxy) => sum + proxy.cut(), 0);
  }

  delay(ms: number): void {
    for (const proxy of this.all) proxy.delay(ms);
  }

  async refuse(): Promise<void> {
    await Promise.all(this.all.map((proxy) => proxy.refuse()));
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((proxy) => proxy.close()));
  }
}
