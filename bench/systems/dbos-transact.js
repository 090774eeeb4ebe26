'use strict';
// The benchmark workflows on DBOS Transact (TypeScript SDK 5.x), written the way its docs
// show: registered functions, DBOS.setConfig + DBOS.launch, a direct call of the workflow,
// DBOS.send / DBOS.recv / DBOS.setEvent / DBOS.getEvent, and DBOS.registerQueue +
// DBOS.startWorkflow(fn, { queueName }).
const { DBOS } = require('@dbos-inc/dbos-sdk');
const { main, queueProbe, waitForCount } = require('../harness');

const QUEUE = 'bench';

const s1 = DBOS.registerStep(async () => 1, { name: 's1' });
const s2 = DBOS.registerStep(async () => 2, { name: 's2' });
const s3 = DBOS.registerStep(async () => 3, { name: 's3' });

const wf = DBOS.registerWorkflow(
  async (i) => {
    await s1();
    await s2();
    await s3();
    return i;
  },
  { name: 'wf' },
);

// messaging: answers the i-th message with the event key_i holding it.
const echo = DBOS.registerWorkflow(
  async (rounds) => {
    for (let i = 0; i < rounds; i++) {
      const message = await DBOS.recv('ping', { timeoutSeconds: 60 });
      if (message === null) throw new Error(`echo: no message ${i} within 60 s`);
      await DBOS.setEvent(`key_${i}`, message);
    }
    return rounds;
  },
  { name: 'echo' },
);

// queue: the same three no-op steps, with the start and end of the body reported.
const queued = DBOS.registerWorkflow(
  async (job) => {
    queueProbe.started(job);
    await s1();
    await s2();
    await s3();
    queueProbe.finished();
    return job.i;
  },
  { name: 'queued' },
);

main('dbos-transact', {
  async start(systemDatabaseUrl, options) {
    // 'warn' keeps DBOS's per-launch info lines off the output; everything else is its defaults.
    DBOS.setConfig({ name: 'bench', systemDatabaseUrl, logLevel: 'warn' });
    await DBOS.launch();
    if (options.workloads.includes('queue')) {
      // DBOS polls each queue; minPollingIntervalMs (default 1000) is the pause between polls,
      // each of which starts up to workerConcurrency workflows. See the README.
      await DBOS.registerQueue(QUEUE, {
        workerConcurrency: options.queueConcurrency,
        minPollingIntervalMs: options.dbosQueuePollMs,
      });
    }
  },
  runOne: (i) => wf(i),
  messaging: {
    async startEcho(workflowID, rounds) {
      const handle = await DBOS.startWorkflow(echo, { workflowID })(rounds);
      return () => handle.getResult();
    },
    send: (workflowID, i) => DBOS.send(workflowID, i, 'ping'),
    getEvent: (workflowID, key) => DBOS.getEvent(workflowID, key, { timeoutSeconds: 60 }),
  },
  queue: {
    enqueue: (job) => DBOS.startWorkflow(queued, { queueName: QUEUE })(job),
    settle: (expected) =>
      waitForCount(
        'dbos-transact queue',
        async () =>
          (await DBOS.listWorkflows({ queueName: QUEUE, status: 'SUCCESS', loadInput: false, loadOutput: false })).length,
        expected,
      ),
  },
  stop: () => DBOS.shutdown(),
});
