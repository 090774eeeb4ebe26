// The benchmark workflows on nestjs-dbos, written as an application would: providers with
// decorated methods in a Nest application context; the workflow called directly, messages and
// events through the injected DbosContext and WorkflowClient, and a queue declared in forRoot.
import 'reflect-metadata';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DbosContext, DbosModule, Step, Workflow, WorkflowClient } from '../../lib';
import { Client } from 'pg';
import { main, queueProbe, recoveryProbe, waitForCount } from '../harness';
import { uncounted } from '../counting';
import { measureScale } from '../scale';
import { registerBenchOtel } from '../otel';

if (process.env.BENCH_OTEL === '1') registerBenchOtel();

const QUEUE = 'bench';

interface QueueJob {
  i: number;
  enqueuedAt: number;
}

interface BenchOptions {
  workloads: string[];
  queueConcurrency: number;
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

function benchModule(url: string, options: BenchOptions) {
  // The queue is declared only when a queue workload runs, so the other workloads measure
  // the module exactly as an app without queues would configure it.
  const queues = options.workloads.some((w) => w === 'queue' || w === 'queue-latency')
    ? [{ name: QUEUE, workerConcurrency: options.queueConcurrency }]
    : undefined;
  @Module({ imports: [DbosModule.forRoot({ database: { url }, queues })], providers: [BenchService] })
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
async function probeCount(url: string, text: string): Promise<number> {
  if (!probe) {
    probe = uncounted(new Client({ connectionString: url }));
    await probe.connect();
  }
  return Number((await probe.query(text)).rows[0].n);
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
    measureScale('nestjs-dbos', { app, client, url: process.env.BENCH_DATABASE_URL!, runOne: (i: number) => service.wf(i) }, options),
  recovery: {
    async launch(url: string, { executorId, leaseMs }: { executorId: string; leaseMs: number }) {
      recoveryUrl = url;
      app = await NestFactory.createApplicationContext(recoveryModule(url, executorId, leaseMs), { logger: ['error', 'warn'] });
      client = app.get(WorkflowClient);
    },
    startOne: (i: number) => client.start(RecoveryBench, { workflowId: `rec-${i}` }).rwf(i),
    countFirstSteps: () => probeCount(recoveryUrl, `SELECT count(*) AS n FROM dbos.operation_outputs WHERE workflow_id LIKE 'rec-%' AND step_id = 0`),
    countDone: () => probeCount(recoveryUrl, `SELECT count(*) AS n FROM dbos.workflow_status WHERE workflow_id LIKE 'rec-%' AND status = 'SUCCESS'`),
    stop: async () => {
      await probe?.end();
      await app.close();
    },
  },
  stop: () => app.close(),
});
