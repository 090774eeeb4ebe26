// The benchmark workflows on nestjs-dbos, written as an application would: providers with
// decorated methods in a Nest application context; the workflow called directly, messages and
// events through the injected DbosContext and WorkflowClient, and a queue declared in forRoot.
import 'reflect-metadata';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DbosContext, DbosDashboardModule, DbosModule, Step, Workflow, WorkflowClient } from '../../lib';
import { Client } from 'pg';
import { main, queueProbe, recoveryProbe, waitForCount } from '../harness';
import { uncounted } from '../counting';
import { measureScale } from '../scale';
import { DAY, fillHistory } from '../history';
import { applyBenchOtel } from '../otel';

// BENCH_OTEL (see bench/otel.ts): unset, `absent` or `1`. The module loads @opentelemetry/api on first use, after this.
applyBenchOtel();

// BENCH_ENCRYPTION=1: every payload encrypted at rest (docs/payloads.md), with a fixed bench key.
const encryption = process.env.BENCH_ENCRYPTION === '1' ? { key: Buffer.alloc(32, 7) } : undefined;

const QUEUE = 'bench';

/**
 * The dashboard as an app mounts it (its own HTTP app over the same database, taking no work),
 * so the scale workload can time its API routes on the filled history. Returns its base URL.
 */
async function openDashboard(url: string): Promise<{ baseUrl: string; close: () => Promise<void> }> {
  @Module({
    imports: [
      DbosModule.forRoot({ database: { url }, executorId: 'bench-dashboard', applicationVersion: 'bench', startWork: false }),
      DbosDashboardModule.forRoot({ path: '/dbos' }),
    ],
  })
  class DashboardBenchModule {}
  const http = await NestFactory.create(DashboardBenchModule, { logger: ['error', 'warn'] });
  await http.listen(0, '127.0.0.1');
  return { baseUrl: `${await http.getUrl()}/dbos/api`, close: () => http.close() };
}

interface QueueJob {
  i: number;
  enqueuedAt: number;
}

interface BenchOptions {
  workloads: string[];
  queueConcurrency: number;
  fanoutConcurrency: number;
}

@Injectable()
class BenchService {
  constructor(private readonly dbos: DbosContext) {}

  @Step() async s1() {
    return 1;
  }
  @Step() async s2() {
    return 2;
  }
  @Step() async s3() {
    return 3;
  }

  @Workflow()
  async wf(i: number) {
    await this.s1();
    await this.s2();
    await this.s3();
    return i;
  }

  // messaging: answers the i-th message with the event key_i holding it.
  @Workflow()
  async echo(rounds: number) {
    for (let i = 0; i < rounds; i++) {
      const message = await this.dbos.recv<number>('ping', { timeoutMs: 60_000 });
      if (message === null) throw new Error(`echo: no message ${i} within 60 s`);
      await this.dbos.setEvent(`key_${i}`, message);
    }
    return rounds;
  }

  // queue: the same three no-op steps, with the start and end of the body reported.
  @Workflow()
  async queued(job: QueueJob) {
    queueProbe.started(job);
    await this.s1();
    await this.s2();
    await this.s3();
    queueProbe.finished();
    return job.i;
  }
}

// fanout: a parent starts n children on the fan-out queue, then awaits them all with one waiter.
// `concurrent` starts them all at once (Promise.all: the inserts and checkpoints are batched);
// `sequential` awaits each start.
const FANOUT_QUEUE = 'fanout';
@Injectable()
class FanoutBench {
  constructor(private readonly dbos: DbosContext) {}

  @Step() async one() {
    return 1;
  }

  @Workflow()
  async fanChild(i: number) {
    await this.one();
    return i;
  }

  @Workflow()
  async fanParent(n: number, starts: 'concurrent' | 'sequential') {
    const start = (i: number) => this.dbos.startWorkflow(FanoutBench, { queue: FANOUT_QUEUE }).fanChild(i);
    if (starts === 'concurrent') return this.dbos.waitAll(await Promise.all(Array.from({ length: n }, (_, i) => start(i))));
    const handles = [];
    for (let i = 0; i < n; i++) handles.push(await start(i));
    return this.dbos.waitAll(handles);
  }
}

// recovery: body entry -> r1 -> r2 (blocks while filling) -> r3.
@Injectable()
class RecoveryBench {
  @Step() async r1() {
    recoveryProbe.s1Runs++;
    return 1;
  }
  @Step() async r2() {
    await recoveryProbe.blockWhileFilling();
    return 2;
  }
  @Step() async r3() {
    return 3;
  }

  @Workflow()
  async rwf(i: number) {
    recoveryProbe.entered(i);
    await this.r1();
    await this.r2();
    await this.r3();
    return i;
  }
}

/** One process of the `instances` workload: its executor id and how it reaches the database. */
interface InstanceOptions {
  executorId: string;
  database: { poolSize: number; pooler?: 'transaction'; listenUrl?: string };
}

function benchModule(url: string, options: BenchOptions, instance?: InstanceOptions) {
  // The queue is declared only when a queue workload runs, so the other workloads measure
  // the module exactly as an app without queues would configure it.
  const queues = [
    ...(options.workloads.some((w) => w === 'queue' || w === 'queue-latency') ? [{ name: QUEUE, workerConcurrency: options.queueConcurrency }] : []),
    ...(options.workloads.includes('fanout') ? [{ name: FANOUT_QUEUE, concurrency: options.fanoutConcurrency }] : []),
  ];
  @Module({
    imports: [
      DbosModule.forRoot({
        database: { url, ...instance?.database },
        executorId: instance?.executorId,
        queues: queues.length > 0 ? queues : undefined,
        encryption,
      }),
    ],
    providers: [BenchService, FanoutBench],
  })
  class BenchModule {}
  return BenchModule;
}

function recoveryModule(url: string, executorId: string, leaseMs: number) {
  @Module({
    imports: [DbosModule.forRoot({ database: { url }, executorId, recovery: { executorLeaseMs: leaseMs } })],
    providers: [RecoveryBench],
  })
  class RecoveryBenchModule {}
  return RecoveryBenchModule;
}

let probe: Client | undefined;
async function probeClient(url: string): Promise<Client> {
  if (!probe) {
    probe = uncounted(new Client({ connectionString: url }));
    await probe.connect();
  }
  return probe;
}
async function probeCount(url: string, text: string): Promise<number> {
  return Number((await (await probeClient(url)).query(text)).rows[0].n);
}
let recoveryUrl = '';

let app: INestApplicationContext;
let service: BenchService;
let client: WorkflowClient;

main('nestjs-dbos', {
  async start(url: string, options: BenchOptions) {
    app = await NestFactory.createApplicationContext(benchModule(url, options), { logger: ['error', 'warn'] });
    service = app.get(BenchService);
    client = app.get(WorkflowClient);
  },
  runOne: (i: number) => service.wf(i),
  fanout: {
    run: async (n: number, workflowId: string, starts: 'concurrent' | 'sequential') =>
      (await client.start(FanoutBench, { workflowId }).fanParent(n, starts)).getResult(),
  },
  messaging: {
    async startEcho(workflowId: string, rounds: number) {
      const handle = await client.start(BenchService, { workflowId }).echo(rounds);
      return () => handle.getResult();
    },
    send: (workflowId: string, i: number) => client.send(workflowId, i, 'ping'),
    getEvent: (workflowId: string, key: string) => client.getEvent<number>(workflowId, key, { timeoutMs: 60_000 }),
  },
  queue: {
    enqueue: (job: QueueJob) => client.start(BenchService, { queue: QUEUE }).queued(job),
    settle: (expected: number) =>
      waitForCount('nestjs-dbos queue', async () => (await client.list({ queue: QUEUE, status: 'SUCCESS', loadPayloads: false })).length, expected),
  },
  scale: (options: Record<string, unknown>) =>
    measureScale(
      'nestjs-dbos',
      {
        app,
        client,
        url: process.env.BENCH_DATABASE_URL!,
        runOne: (i: number) => service.wf(i),
        openDashboard: () => openDashboard(process.env.BENCH_DATABASE_URL!),
      },
      options,
    ),
  instances: {
    async launch(url: string, options: BenchOptions, instance: InstanceOptions) {
      app = await NestFactory.createApplicationContext(benchModule(url, options, instance), { logger: ['error', 'warn'] });
      service = app.get(BenchService);
    },
    runOne: (i: number) => service.wf(i),
    stop: () => app.close(),
  },
  recovery: {
    async launch(url: string, { executorId, leaseMs }: { executorId: string; leaseMs: number }) {
      recoveryUrl = url;
      app = await NestFactory.createApplicationContext(recoveryModule(url, executorId, leaseMs), { logger: ['error', 'warn'] });
      client = app.get(WorkflowClient);
    },
    async fillHistory(rows: number) {
      await fillHistory(await probeClient(recoveryUrl), rows, { base: Date.now() - 31 * DAY, label: 'recovery' });
    },
    startOne: (i: number) => client.start(RecoveryBench, { workflowId: `rec-${i}` }).rwf(i),
    // Through the PENDING rows (all of them the benchmark's): never a scan of the history's checkpoints.
    countFirstSteps: () =>
      probeCount(
        recoveryUrl,
        `SELECT count(*) AS n FROM dbos.workflow_status w JOIN dbos.operation_outputs o ON o.workflow_id = w.workflow_id AND o.step_id = 0
          WHERE w.status = 'PENDING' AND w.workflow_id LIKE 'rec-%'`,
      ),
    countDone: () => probeCount(recoveryUrl, `SELECT count(*) AS n FROM dbos.workflow_status WHERE workflow_id LIKE 'rec-%' AND status = 'SUCCESS'`),
    stop: async () => {
      await probe?.end();
      await app.close();
    },
  },
  stop: () => app.close(),
});
