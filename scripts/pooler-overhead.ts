/**
 * What PgBouncer in transaction mode costs: the same workloads on a direct connection, through
 * PgBouncer with LISTEN on `listenUrl`, and through PgBouncer polling (no `listenUrl`). Prints one
 * table; the figures of docs/poolers.md come from it.
 *
 *   DATABASE_URL=postgres://... node -r ts-node/register/transpile-only scripts/pooler-overhead.ts [--workflows N] [--inflight N] [--messages N]
 *
 * Each connection is measured `--rounds` times, the three interleaved (a shared machine's load
 * drifts); latencies are over every round's samples, the rate is the median round's.
 *
 * Workloads: 3-step workflows one at a time (latency, call to result) and `--inflight` at a time
 * (throughput), and message round trips (send to a looping workflow, getEvent of its answer:
 * two waits woken by notifications, or found by polling).
 */
import 'reflect-metadata';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { parseArgs } from 'node:util';
import { DbosContext, DbosModule, Step, Workflow, WorkflowClient, type DatabaseOptions } from '../lib';
import { dropSchema, uniqueSchema } from '../test/support/database';
import { PgBouncer } from '../test/support/pgbouncer';

@Injectable()
class Work {
  constructor(private readonly dbos: DbosContext) {}

  @Step() async step(n: number): Promise<number> {
    return n + 1;
  }

  @Workflow() async threeSteps(n: number): Promise<number> {
    return this.step(await this.step(await this.step(n)));
  }

  @Workflow() async echo(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const message = await this.dbos.recv<number>('ping', { timeoutMs: 30_000 });
      await this.dbos.setEvent(`pong-${i}`, message);
    }
  }
}

const { values } = parseArgs({
  options: {
    workflows: { type: 'string', default: '300' },
    inflight: { type: 'string', default: '20' },
    messages: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
  },
});
const ROUNDS = Number(values.rounds);
const WORKFLOWS = Number(values.workflows);
const INFLIGHT = Number(values.inflight);
const MESSAGES = Number(values.messages);

async function open(database: DatabaseOptions, schema: string): Promise<INestApplicationContext> {
  @Module({ imports: [DbosModule.forRoot({ database, schema, shutdownTimeoutMs: 2_000 })], providers: [Work] })
  class BenchModule {}
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error', 'warn'] });
  await app.init();
  return app;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
const summary = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p95 ${percentile(sorted, 95).toFixed(1)} ms`;
};

interface Samples {
  sequential: number[];
  rates: number[];
  trips: number[];
}

async function measure(database: DatabaseOptions, into: Samples): Promise<void> {
  const schema = uniqueSchema('poolbench');
  const app = await open(database, schema);
  const client = app.get(WorkflowClient);
  try {
    for (let i = 0; i < 20; i++) await (await client.start(Work).threeSteps(i)).getResult(); // warm-up
    const sequential = into.sequential;
    for (let i = 0; i < WORKFLOWS; i++) {
      const at = performance.now();
      await (await client.start(Work).threeSteps(i)).getResult();
      sequential.push(performance.now() - at);
    }
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: INFLIGHT }, async () => {
        while (next < WORKFLOWS * 3) await (await client.start(Work).threeSteps(next++)).getResult();
      }),
    );
    into.rates.push((WORKFLOWS * 3) / ((performance.now() - started) / 1_000));
    const echo = await client.start(Work).echo(MESSAGES);
    const trips = into.trips;
    for (let i = 0; i < MESSAGES; i++) {
      const at = performance.now();
      await client.send(echo.workflowId, i, 'ping');
      await client.getEvent(echo.workflowId, `pong-${i}`, { timeoutMs: 30_000 });
      trips.push(performance.now() - at);
    }
    await echo.getResult();
  } finally {
    await app.close();
    await dropSchema(schema);
  }
}

async function main(): Promise<void> {
  const direct = process.env.DATABASE_URL!;
  const bouncer = await PgBouncer.start({ poolMode: 'transaction', poolSize: 20 });
  try {
    const configs: [string, DatabaseOptions][] = [
      ['direct', { url: direct }],
      ['PgBouncer, listenUrl', { url: bouncer.url(direct), pooler: 'transaction', listenUrl: direct }],
      ['PgBouncer, polling', { url: bouncer.url(direct), pooler: 'transaction' }],
    ];
    const samples = configs.map((): Samples => ({ sequential: [], rates: [], trips: [] }));
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < configs.length; i++) await measure(configs[i][1], samples[i]);
    }
    console.log(
      `| connection | one at a time (${WORKFLOWS} × ${ROUNDS}) | ${INFLIGHT} in flight (${WORKFLOWS * 3}, median of ${ROUNDS}) | message round trip (${MESSAGES} × ${ROUNDS}) |`,
    );
    console.log('|---|---|---|---|');
    configs.forEach(([label], i) => {
      const { sequential, rates, trips } = samples[i];
      const rate = [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)];
      console.log(`| ${label} | ${summary(sequential)} | ${rate.toFixed(0)} workflows/s | ${summary(trips)} |`);
    });
  } finally {
    await bouncer.stop();
  }
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
