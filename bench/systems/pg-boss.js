'use strict';
// Reference point for the queue workload: bare no-op jobs on pg-boss (no steps, no
// checkpoints), 64 in flight. pg-boss is an ES module, hence the dynamic import.
//
// pg-boss's defaults (one job per fetch, a 2 s poll after every fetch) would drain 64 workers
// at ~32 jobs/s, so it is set up the way its docs describe for a backlog: LISTEN/NOTIFY on
// the queue, one worker fetching 64 jobs at a time and fetching again at once while batches
// come back full, and the shortest poll it allows (0.5 s) for the tail.
const { Client } = require('pg');
const { main, queueProbe, waitForCount } = require('../harness');

const QUEUE = 'bench';

let boss;
let databaseUrl;

main('pg-boss', {
  async start(url, options) {
    databaseUrl = url;
    const { PgBoss } = await import('pg-boss');
    boss = new PgBoss({ connectionString: url, useListenNotify: true });
    boss.on('error', (err) => console.error('pg-boss error:', err.message));
    await boss.start();
    await boss.createQueue(QUEUE, { notify: true });
    await boss.work(QUEUE, { batchSize: options.queueConcurrency, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async (jobs) => {
      await Promise.all(
        jobs.map(async (job) => {
          queueProbe.started(job.data);
          queueProbe.finished();
        }),
      );
    });
  },
  queue: {
    enqueue: (job) => boss.send(QUEUE, job),
    async settle(expected) {
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await waitForCount(
          'pg-boss queue',
          async () => Number((await client.query(`SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state = 'completed'`, [QUEUE])).rows[0].n),
          expected,
        );
      } finally {
        await client.end();
      }
    },
  },
  stop: () => boss.stop({ graceful: true, timeout: 10_000 }),
});
