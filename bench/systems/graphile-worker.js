'use strict';
// Reference point for the queue workload: bare no-op jobs on graphile-worker (no steps, no
// checkpoints), with a worker concurrency of 64. Defaults otherwise (LISTEN/NOTIFY wakes the
// workers), except the pool, sized to the concurrency as graphile-worker's start-up warning
// asks. Completed jobs are deleted, so "done" is "no job left".
//
// With --tuned (the `graphile-worker-tuned` system) it also turns on the batching that
// graphile-worker's performance page gives as its best configuration
// (https://worker.graphile.org/docs/performance): a local queue of 500 jobs fetched and locked
// in one query, and completions and failures batched (`completeJobBatchDelay: 0`,
// `failJobBatchDelay: 0`). In 0.18 these exist only as `preset.worker.*` options; `run()` takes
// the preset beside its own options, and its explicit options (concurrency, pool) still apply.
const { Client } = require('pg');
const { run, Logger } = require('graphile-worker');
const { main, queueProbe, waitForCount } = require('../harness');

const TASK = 'bench';
const TUNED = process.argv.includes('--tuned');
const SYSTEM = TUNED ? 'graphile-worker-tuned' : 'graphile-worker';

// Warnings and errors only, like the other systems.
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') console.error(`${SYSTEM} ${level}: ${message}`);
});

let runner;
let databaseUrl;
let enqueuedTotal = 0;

main(SYSTEM, {
  async start(url, options) {
    databaseUrl = url;
    runner = await run({
      connectionString: url,
      concurrency: options.queueConcurrency,
      maxPoolSize: options.queueConcurrency,
      noHandleSignals: true,
      logger,
      ...(TUNED && { preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } }),
      taskList: {
        [TASK]: async (payload) => {
          queueProbe.started(payload);
          queueProbe.finished();
        },
      },
    });
  },
  queue: {
    async enqueue(job) {
      await runner.addJob(TASK, job);
      enqueuedTotal++;
    },
    async settle(expected) {
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await waitForCount(
          `${SYSTEM} queue`,
          async () => enqueuedTotal - Number((await client.query('SELECT count(*) AS n FROM graphile_worker.jobs')).rows[0].n),
          expected,
        );
      } finally {
        await client.end();
      }
    },
  },
  stop: () => runner.stop(),
});
