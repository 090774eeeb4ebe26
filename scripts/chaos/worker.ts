/**
 * One worker process of the chaos run (see run.ts). Environment:
 *   DATABASE_URL        connection URL (its application_name marks this worker's connections; it
 *                       may point at a fault proxy of the orchestrator, or at PgBouncer)
 *   DATABASE_POOLER     `transaction` when DATABASE_URL goes through PgBouncer in transaction mode
 *   DATABASE_LISTEN_URL then: the URL of the LISTEN connection, straight to Postgres (or its proxy)
 *   CHAOS_SCHEMA        schema of the system tables and of the `effects` and `runs` tables
 *   EXECUTOR_ID         executor id of this process
 *   CHAOS_SERVICE_PORT  port of the orchestrator's HTTP service on 127.0.0.1
 *
 * `ChaosWork.run` has one step per pause (5 when enqueued on the main queue); each step's side
 * effect is one row in `effects`, written by a @Transaction (the row commits together with the
 * step's checkpoint, so it exists exactly once). The start and end of every run are recorded in
 * `runs` by @Transaction steps too, with the database clock, so queue concurrency can be checked
 * afterwards. `ChaosWork.callsService` calls the HTTP service in a @Step with retries;
 * `ChaosWork.parent` runs `ChaosWork.run` as its child.
 *
 * `ChaosHttpClient` closes its keep-alive agent in onModuleDestroy, as a real client provider
 * would: a call after that fails with ChaosClientClosedError, so a workflow that recorded it was
 * failed by the shutdown (the orchestrator checks that none did).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { Injectable, Module, type OnModuleDestroy } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DbosContext, DbosModule, Step, Transaction, Workflow } from '../../lib';
import {
  APPLICATION_VERSION,
  CLIENT_CLOSED_ERROR,
  EXECUTOR_LEASE_MS,
  HTTP_REQUEST_TIMEOUT_MS,
  HTTP_RETRIES,
  PARENT_QUEUE,
  PARTITIONED_QUEUE,
  QUEUE,
  SERVICE_ERROR,
  SHUTDOWN_TIMEOUT_MS,
  WORKER_POOL_SIZE,
  type ChaosInput,
  type HttpInput,
  type HttpOutput,
  type ParentInput,
  type ParentOutput,
  type ServiceReply,
} from './shared';

const schema = process.env.CHAOS_SCHEMA!;
const executorId = process.env.EXECUTOR_ID!;
const servicePort = Number(process.env.CHAOS_SERVICE_PORT);

/** A failed call of the service; `execution` names the run of the workflow body that made it. */
class ServiceCallError extends Error {
  constructor(
    name: string,
    message: string,
    readonly execution: string,
  ) {
    super(message);
    this.name = name;
  }
}

@Injectable()
class ChaosHttpClient implements OnModuleDestroy {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  private closed = false;

  onModuleDestroy(): void {
    this.closed = true;
    this.agent.destroy();
  }

  async call(workflowId: string, execution: string): Promise<ServiceReply> {
    const closedError = () =>
      new ServiceCallError(CLIENT_CLOSED_ERROR, `the HTTP client was closed by onModuleDestroy (shutdown) before the call for ${workflowId}`, execution);
    if (this.closed) throw closedError();
    try {
      const body = await this.request(`/call?wf=${encodeURIComponent(workflowId)}&execution=${execution}`);
      return { reply: (JSON.parse(body) as { reply: string }).reply, execution };
    } catch (err) {
      if (this.closed) throw closedError();
      throw new ServiceCallError(SERVICE_ERROR, `chaos service call for ${workflowId} failed: ${(err as Error).message}`, execution);
    }
  }

  private request(path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: servicePort, path, agent: this.agent, timeout: HTTP_REQUEST_TIMEOUT_MS }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('error', reject);
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${HTTP_REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', reject);
    });
  }
}

@Injectable()
class ChaosWork {
  constructor(
    private readonly dbos: DbosContext,
    private readonly service: ChaosHttpClient,
  ) {}

  @Transaction() async begin(): Promise<void> {
    await this.dbos.entityManager.query(`INSERT INTO "${schema}".runs (workflow_id, started_at, executor) VALUES ($1, clock_timestamp(), $2)`, [
      this.dbos.workflowId,
      executorId,
    ]);
  }

  @Transaction() async effect(step: number): Promise<void> {
    await this.dbos.entityManager.query(`INSERT INTO "${schema}".effects (workflow_id, step, executor) VALUES ($1, $2, $3)`, [
      this.dbos.workflowId,
      step,
      executorId,
    ]);
  }

  @Transaction() async end(): Promise<void> {
    await this.dbos.entityManager.query(`UPDATE "${schema}".runs SET ended_at = clock_timestamp() WHERE workflow_id = $1`, [this.dbos.workflowId]);
  }

  @Workflow() async run(input: ChaosInput): Promise<ChaosInput> {
    await this.begin();
    for (let step = 1; step <= input.pauses.length; step++) {
      await this.effect(step);
      await this.dbos.sleep(input.pauses[step - 1]);
    }
    await this.end();
    return input;
  }

  @Step({ retries: HTTP_RETRIES }) async callService(execution: string): Promise<ServiceReply> {
    return this.service.call(this.dbos.workflowId!, execution);
  }

  @Workflow() async callsService(input: HttpInput): Promise<HttpOutput> {
    await this.begin();
    await this.effect(1);
    // Deliberately not checkpointed: a new value for every run of the body, so the service can
    // count the attempts of each execution of the step.
    const { reply } = await this.callService(randomUUID());
    await this.effect(2);
    await this.end();
    return { seq: input.seq, reply };
  }

  @Workflow() async parent(input: ParentInput): Promise<ParentOutput> {
    await this.begin();
    await this.effect(1);
    let child: ChaosInput;
    if (input.direct) {
      child = await this.run(input.child);
    } else {
      const handle = await this.dbos.startWorkflow(ChaosWork).run(input.child);
      await this.dbos.sleep(input.pause);
      child = await handle.getResult();
    }
    await this.effect(2);
    await this.end();
    return { seq: input.seq, child };
  }
}

@Module({
  imports: [
    DbosModule.forRoot({
      database: {
        url: process.env.DATABASE_URL!,
        poolSize: WORKER_POOL_SIZE,
        pooler: process.env.DATABASE_POOLER === 'transaction' ? 'transaction' : undefined,
        listenUrl: process.env.DATABASE_LISTEN_URL || undefined,
      },
      schema,
      executorId,
      applicationVersion: APPLICATION_VERSION,
      recovery: { executorLeaseMs: EXECUTOR_LEASE_MS },
      shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
      queues: [QUEUE, PARTITIONED_QUEUE, PARENT_QUEUE],
    }),
  ],
  providers: [ChaosWork, ChaosHttpClient],
})
class ChaosWorkerModule {}

async function main(): Promise<void> {
  // Observe only (the process still dies as it would): say what killed it, for the orchestrator's report.
  process.on('uncaughtExceptionMonitor', (err, origin) => {
    const error = err instanceof Error ? err : new Error(String(err));
    console.error(`FATAL ${origin}: ${error.name}: ${error.message}\n${(error.stack ?? '').split('\n').slice(1, 12).join('\n')}\nEND FATAL`);
  });
  // The orchestrator is our parent: when it goes away (even by SIGKILL), so do we.
  process.on('disconnect', () => process.exit(1));
  const app = await NestFactory.createApplicationContext(ChaosWorkerModule, { logger: ['error', 'warn', 'log'] });
  app.enableShutdownHooks();
  process.send?.({ type: 'ready', executorId });
  console.log(`READY ${executorId} pid=${process.pid}`);
}

main().catch((err: Error) => {
  console.error(`worker ${executorId} failed to start: ${err.stack ?? err.message}`);
  process.exit(2);
});
