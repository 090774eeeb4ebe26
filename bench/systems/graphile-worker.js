'use strict';
// Reference point for the queue workload: bare no-op jobs on graphile-worker (no steps, no
// checkpoints), with a worker concurrency of 64. Defaults otherwise (LISTEN/NOTIFY wakes the
// workers), except the pool, sized to the concurrency as graphile-worker's start-up warning
// asks. Completed jobs are deleted, so "done" is "no job left".
const { Client } = require('pg');
const { run, Logger } = require('graphile-worker');
const { main, queueProbe, waitForCount } = require('../harness');

const TASK = 'bench';

// Warnings and errors only, like the other systems.
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') console.error(`graphile-worker ${level}: ${message}`);
});

let runner;
let databaseUrl;
let enqueuedTotal = 0;

main('graphile-worker', {
  async start(url, options) {
    databaseUrl = url;
    runner = await run({
      connectionString: url,
      concurrency: options.queueConcurrency,
      maxPoolSize: options.queueConcurrency,
      noHandleSignals: true,
      logger,
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
          'graphile-worker queue',
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
