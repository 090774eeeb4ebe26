import { Injectable, Module, type CanActivate, type INestApplication } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { DbosContext, DbosDashboardModule, DbosModule, Step, Workflow, type DbosDashboardOptions } from '../../lib';
import { databaseOptions } from './database';

/** Workflows the dashboard tests look at: steps that succeed, one that fails, one that waits for a message, one with children. */
@Injectable()
export class Shop {
  constructor(private readonly dbos: DbosContext) {}

  @Step() async reserve(item: string): Promise<{ item: string; reserved: boolean }> {
    return { item, reserved: true };
  }

  @Step() async charge(amount: number): Promise<string> {
    if (amount < 0) throw new RangeError(`Cannot charge ${amount}: <script>window.__pwned = true</script>`);
    return `paid ${amount}`;
  }

  @Workflow() async order(item: string, amount: number): Promise<string> {
    await this.reserve(item);
    await this.dbos.setEvent('stage', { reserved: item });
    await this.dbos.writeStream('progress', 'reserved');
    return this.charge(amount);
  }

  /** Failures left of `ship` for an order id (each call takes one, then it succeeds). */
  static shipFailures = new Map<string, number>();

  @Step({ retries: { maxAttempts: 4, intervalMs: 5 } }) async ship(id: string): Promise<string> {
    const left = Shop.shipFailures.get(id) ?? 0;
    if (left > 0) {
      Shop.shipFailures.set(id, left - 1);
      throw new Error(`carrier timeout for ${id} (${left} left)`);
    }
    return `shipped ${id}`;
  }

  /** Reserves, then ships through a step that retries. */
  @Workflow() async delivery(id: string): Promise<string> {
    await this.reserve(id);
    return this.ship(id);
  }

  /** Orders each item as a child workflow (`<id>-1`, `<id>-2`, ...), with progress events; the children's results. */
  @Workflow() async basket(items: string[]): Promise<string[]> {
    await this.dbos.setEvent('items', items.length);
    const children = [];
    for (const [i, item] of items.entries()) {
      children.push(await this.dbos.startWorkflow(Shop, { workflowId: `${this.dbos.workflowId}-${i + 1}` }).order(item, 10 * (i + 1)));
    }
    const results = await this.dbos.waitAll(children);
    await this.dbos.setEvent('stage', 'all paid');
    return results;
  }

  /** Its input is its output. */
  @Workflow() async echo(value: unknown): Promise<unknown> {
    return value;
  }

  /** Reserves, then waits for an 'approve' message before charging. */
  @Workflow() async approval(item: string): Promise<string> {
    await this.reserve(item);
    const approved = await this.dbos.recv<boolean>('approve', { timeoutMs: 600_000 });
    return approved ? this.charge(1) : 'rejected';
  }
}

export interface DashboardTestApp {
  app: INestApplication;
  close(): Promise<void>;
}

/** A Nest HTTP app with DbosModule on the test database, the Shop workflows and the dashboard (or several mounts of it). */
export async function startDashboardApp(
  schema: string,
  dashboard: DbosDashboardOptions | DbosDashboardOptions[],
  extraProviders: (new (...args: never[]) => CanActivate)[] = [],
  httpAdapter?: AbstractHttpAdapter,
): Promise<INestApplication> {
  @Module({
    imports: [
      DbosModule.forRoot({
        database: databaseOptions(),
        schema,
        shutdownTimeoutMs: 1_000,
        executorId: 'dash-exec',
        applicationVersion: 'v2',
        queues: [{ name: 'orders', concurrency: 3, rateLimit: { limit: 10, periodMs: 1_000 } }],
      }),
      ...[dashboard].flat().map((options) => DbosDashboardModule.forRoot(options)),
    ],
    providers: [Shop, ...extraProviders],
  })
  class DashboardTestModule {}
  const moduleRef = await Test.createTestingModule({ imports: [DashboardTestModule] }).compile();
  const app = httpAdapter
    ? moduleRef.createNestApplication(httpAdapter, { logger: ['error', 'warn'] })
    : moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.init();
  // Fastify answers requests once its plugins are loaded.
  if (httpAdapter) await (app.getHttpAdapter().getInstance() as { ready?: () => Promise<unknown> }).ready?.();
  return app;
}
