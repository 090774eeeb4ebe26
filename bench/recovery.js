'use strict';
// The recovery workload's driver: N workflows PENDING after a SIGKILL, then
//   restart:  the same executor starts again; time from its launch call to every workflow body
//             running again, and to every workflow recorded SUCCESS;
//   takeover: two live executors with other ids take a dead executor's workflows over; time from
//             the dead executor's lease expiring (its last heartbeat + lease, on the database
//             clock) to all running again and to all done, and how they were spread.
// With `historyRows`, the fill first inserts that many finished workflows and analyses the tables
// (before any of the N is PENDING), as a schema looks after months of use.
// Each child is a real process; the kill is a real SIGKILL.
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const { Client } = require('pg');

const TIMEOUT_MS = 240_000;

function startChild(argv, cwd, env, name) {
  const child = spawn(process.execPath, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const lines = [];
  const waiters = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters) w();
  });
  readline.createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`[${name}] ${line}\n`));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const messages = [];
  let onMessage = null;
  child.on('message', (m) => {
    messages.push(m);
    onMessage?.();
  });
  const nextMessage = (timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (messages.length > 0) {
          clearTimeout(timer);
          onMessage = null;
          resolve(messages.shift());
        }
      };
      const timer = setTimeout(() => reject(new Error(`${name}: no answer within ${timeoutMs} ms`)), timeoutMs);
      onMessage = check;
      void exited.then((how) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${how})`));
      });
      check();
    });
  const waitForLine = (pattern, timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not print ${pattern} within ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        if (lines.some((l) => pattern.test(l))) {
          clearTimeout(timer);
          resolve();
        }
      };
      waiters.push(check);
      void exited.then((how) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${how}) before printing ${pattern}`));
      });
      check();
    });
  return { child, exited, nextMessage, waitForLine, lines };
}

async function ask(child, question) {
  child.child.send(question);
  return child.nextMessage();
}

// The history fill (about 30 s per million finished workflows here) comes on top of the workflows'.
async function fill(spec, env, executorId, historyRows) {
  const filler = startChild(spec.argv, spec.cwd, { ...env, BENCH_RECOVERY_ROLE: 'fill', BENCH_EXECUTOR_ID: executorId }, `${spec.name} fill`);
  await filler.waitForLine(/^FILLED$/, TIMEOUT_MS + (historyRows / 1e6) * 90_000);
  filler.child.kill('SIGKILL');
  await filler.exited;
}

// Polls the children until every workflow is recorded done; returns the reports at that moment.
async function pollUntilDone(children, n) {
  const deadline = Date.now() + TIMEOUT_MS;
  let doneAt = 0;
  for (;;) {
    const reports = [];
    for (const c of children) reports.push(await ask(c, 'report'));
    const done = Math.max(...reports.map((r) => r.done));
    if (done >= n && doneAt === 0) doneAt = Date.now();
    if (doneAt !== 0) return { reports, doneAt };
    if (Date.now() > deadline) throw new Error(`only ${done} of ${n} done after ${TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopAll(children) {
  for (const c of children) {
    c.child.send('stop');
  }
  await Promise.all(children.map((c) => Promise.race([c.exited, new Promise((r) => setTimeout(r, 15_000))])));
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
}

function perWorkflow(reports, n) {
  const statements = reports.reduce((a, r) => a + r.statements.statements, 0);
  const commits = reports.reduce((a, r) => a + r.statements.commits, 0);
  const round = (v) => Math.round(v * 100) / 100;
  return { statementsPerOp: round(statements / n), commitsPerOp: round(commits / n) };
}

function check(reports, n) {
  const started = reports.reduce((a, r) => a + r.started, 0);
  const repeats = reports.reduce((a, r) => a + r.repeats, 0);
  const s1Runs = reports.reduce((a, r) => a + r.s1Runs, 0);
  if (started !== n) throw new Error(`${started} workflow bodies ran again, expected ${n} (a workflow ran on two executors?)`);
  if (repeats !== 0) throw new Error(`${repeats} workflow bodies ran twice`);
  if (s1Runs !== 0) throw new Error(`the recorded first step ran again ${s1Runs} times`);
}

async function restart(spec, env, n, historyRows) {
  await fill(spec, env, 'bench-a', historyRows);
  const child = startChild(spec.argv, spec.cwd, { ...env, BENCH_RECOVERY_ROLE: 'recover', BENCH_EXECUTOR_ID: 'bench-a' }, `${spec.name} recover`);
  try {
    await child.nextMessage(60_000); // ready
    const { reports, doneAt } = await pollUntilDone([child], n);
    check(reports, n);
    const r = reports[0];
    return {
      workload: 'recovery',
      variant: 'restart',
      system: spec.name,
      workflows: n,
      historyRows,
      runningSec: (r.lastStartAt - r.launchedAt) / 1000,
      doneSec: (doneAt - r.launchedAt) / 1000,
      ...perWorkflow(reports, n),
    };
  } finally {
    await stopAll([child]);
  }
}

async function takeover(spec, env, n, leaseMs, databaseUrl, historyRows) {
  await fill(spec, env, 'bench-a', historyRows);
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  let expiresAt;
  try {
    const { rows } = await client.query(spec.leaseExpirySql, ['bench-a', leaseMs]);
    expiresAt = Date.now() + Number(rows[0].ms);
  } finally {
    await client.end();
  }
  const children = ['bench-b', 'bench-c'].map((id) =>
    startChild(spec.argv, spec.cwd, { ...env, BENCH_RECOVERY_ROLE: 'takeover', BENCH_EXECUTOR_ID: id }, `${spec.name} ${id}`),
  );
  try {
    for (const c of children) await c.nextMessage(60_000);
    const { reports, doneAt } = await pollUntilDone(children, n);
    check(reports, n);
    return {
      workload: 'recovery',
      variant: 'takeover',
      system: spec.name,
      workflows: n,
      historyRows,
      runningSec: (Math.max(...reports.map((r) => r.lastStartAt)) - expiresAt) / 1000,
      doneSec: (doneAt - expiresAt) / 1000,
      spread: reports.map((r) => r.started),
      ...perWorkflow(reports, n),
    };
  } finally {
    await stopAll(children);
  }
}

// startChild and stopAll also drive the `instances` workload's processes (instances.js).
module.exports = { restart, takeover, startChild, stopAll };
