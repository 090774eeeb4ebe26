'use strict';
// The benchmark workflow on DBOS Transact (TypeScript SDK 5.x), written the way its docs
// show: registered functions, DBOS.setConfig + DBOS.launch, and a direct call of the workflow.
const { DBOS } = require('@dbos-inc/dbos-sdk');
const { main } = require('../harness');

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

main('dbos-transact', {
  async start(systemDatabaseUrl) {
    // 'warn' keeps DBOS's per-launch info lines off the output; everything else is its defaults.
    DBOS.setConfig({ name: 'bench', systemDatabaseUrl, logLevel: 'warn' });
    await DBOS.launch();
  },
  runOne: (i) => wf(i),
  stop: () => DBOS.shutdown(),
});
