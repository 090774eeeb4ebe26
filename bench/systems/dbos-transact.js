'use strict';
// The benchmark workflows on DBOS Transact (TypeScript SDK 5.x), written the way its docs
// show: registered functions, DBOS.setConfig + DBOS.launch, a direct call of the workflow,
// DBOS.send / DBOS.recv / DBOS.setEvent / DBOS.getEvent, and DBOS.registerQueue +
// DBOS.startWorkflow(fn, { queueName }).
const { DBOS } = require('@dbos-inc/dbos-sdk');
const { Client } = require('pg');
const { main, queueProbe, recoveryProbe, waitForCount } = require('../harness');
const { uncounted } = require('../counting');

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

// recovery: body entry -> r1 -> r2 (blocks while filling) -> r3.
const r1 = DBOS.registerStep(
  async () => {
    recoveryProbe.s1Runs++;
    return 1;
  },
  { name: 'r1' },
);
const r2 = DBOS.registerStep(
  async () => {
    await recoveryProbe.blockWhileFilling();
    return 2;
  },
  { name: 'r2' },
);
const r3 = DBOS.registerStep(async () => 3, { name: 'r3' });
const rwf = DBOS.registerWorkflow(
  async (i) => {
    recoveryProbe.entered(i);
    await r1();
    await r2();
    await r3();
    return i;
  },
  { name: 'rwf' },
);

// fanout: a parent starts n children on the fan-out queue (DBOS.startWorkflow with queueName,
// as its docs show for fan-out), then awaits each handle's result. `concurrent` starts them all
// at once (Promise.all) and awaits the results together; `sequential` awaits each start, then
// each result, one after another.
const FANOUT_QUEUE = 'fanout';
const fanChild = DBOS.registerWorkflow(
  async (i) => {
    await s1();
    return i;
  },
  { name: 'fanChild' },
);
const fanParent = DBOS.registerWorkflow(
  async (n, starts) => {
    const start = (i) => DBOS.startWorkflow(fanChild, { queueName: FANOUT_QUEUE })(i);
    if (starts === 'concurrent') {
      const handles = await Promise.all(Array.from({ length: n }, (_, i) => start(i)));
      return Promise.all(handles.map((handle) => handle.getResult()));
    }
    const handles = [];
    for (let i = 0; i < n; i++) handles.push(await start(i));
    const results = [];
    for (const handle of handles) results.push(await handle.getResult());
    return results;
  },
  { name: 'fanParent' },
);

let probe;
let recoveryUrl = '';
async function probeCount(text) {
  if (!probe) {
    probe = uncounted(new Client({ connectionString: recoveryUrl }));
    await probe.connect();
  }
  return Number((await probe.query(text)).rows[0].n);
}

main('dbos-transact', {
  async start(systemDatabaseUrl, options) {
    // 'warn' keeps DBOS's per-launch info lines off the output; everything else is its defaults.
    DBOS.setConfig({ name: 'bench', systemDatabaseUrl, logLevel: 'warn' });
    await DBOS.launch();
    if (options.workloads.includes('queue') || options.workloads.includes('queue-latency')) {
      // DBOS polls each queue; minPollingIntervalMs (default 1000) is the pause between polls,
      // each of which starts up to workerConcurrency workflows. See the README.
      await DBOS.registerQueue(QUEUE, {
        workerConcurrency: options.queueConcurrency,
        minPollingIntervalMs: options.dbosQueuePollMs,
      });
    }
    if (options.workloads.includes('fanout')) {
      // The same polling interval as the queue workload (see the README).
      await DBOS.registerQueue(FANOUT_QUEUE, { globalConcurrency: options.fanoutConcurrency, minPollingIntervalMs: options.dbosQueuePollMs });
    }
  },
  runOne: (i) => wf(i),
  fanout: {
    run: async (n, workflowID, starts) => (await DBOS.startWorkflow(fanParent, { workflowID })(n, starts)).getResult(),
  },
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
        async () => (await DBOS.listWorkflows({ queueName: QUEUE, status: 'SUCCESS', loadInput: false, loadOutput: false })).length,
        expected,
      ),
  },
  recovery: {
    // DBOS Transact recovers the PENDING workflows of its own executor id at launch (its default
    // executor id; the benchmark keeps it). Taking over another executor's workflows is left to
    // DBOS Conductor or DBOS Cloud, which are not part of the open-source library.
    async launch(url) {
      recoveryUrl = url;
      DBOS.setConfig({ name: 'bench', systemDatabaseUrl: url, logLevel: 'warn' });
      await DBOS.launch();
    },
    startOne: (i) => DBOS.startWorkflow(rwf, { workflowID: `rec-${i}` })(i),
    countFirstSteps: () => probeCount(`SELECT count(*) AS n FROM dbos.operation_outputs WHERE workflow_uuid LIKE 'rec-%' AND function_name = 'r1'`),
    countDone: () => probeCount(`SELECT count(*) AS n FROM dbos.workflow_status WHERE workflow_uuid LIKE 'rec-%' AND status = 'SUCCESS'`),
    stop: async () => {
      await probe?.end();
      await DBOS.shutdown();
    },
  },
  stop: () => DBOS.shutdown(),
});
