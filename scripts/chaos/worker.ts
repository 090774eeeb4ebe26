/**
 * One worker process of the chaos run (see run.ts). Environment:
 *   DATABASE_URL   connection URL (its application_name marks this worker's connections)
 *   CHAOS_SCHEMA   schema of the system tables and of the `effects` and `runs` tables
 *   EXECUTOR_ID    executor id of this process
 *
 * `ChaosWork.run` has 5 steps; each step's side effect is one row in `effects`, written by a
 * @Transaction (the row commits together with the step's checkpoint, so it exists exactly once).
 * The start and end of every run are recorded in `runs` by @Transaction steps too, with the
 * database clock, so the queue's global concurrency can be checked afterwards.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DbosContext, DbosModule, Transaction, Workflow } from '../../lib';
import { APPLICATION_VERSION, EXECUTOR_LEASE_MS, QUEUE, STEPS, type ChaosInput } from './shared';

const schema = process.env.CHAOS_SCHEMA!;
const executorId = process.env.EXECUTOR_ID!;

@Injectable()
class ChaosWork {
  constructor(private readonly dbos: DbosContext) {}

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
    for (let step = 1; step <= STEPS; step++) {
      await this.effect(step);
      await this.dbos.sleep(input.pauses[step - 1]);
    }
    await this.end();
    return input;
  }
}

@Module({
  imports: [
    DbosModule.forRoot({
      database: { url: process.env.DATABASE_URL! },
      schema,
      executorId,
      applicationVersion: APPLICATION_VERSION,
      recovery: { executorLeaseMs: EXECUTOR_LEASE_MS },
      queues: [QUEUE],
    }),
  ],
  providers: [ChaosWork],
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
