'use strict';
// The commit floor of the server, measured in the same run as the workloads: what one
// single-row INSERT in its own transaction costs (pgbench's insert1, as a loop of node-postgres
// calls, so the client's own cost per round trip is in it too), at one client and at 64.
// A workload that must make N commits in a row (a workflow run alone: its start, its
// checkpoints, its outcome) cannot finish faster than N times the first figure.
const { Client } = require('pg');

const ONE_CLIENT_COMMITS = 2_000;
const MANY_CLIENTS = 64;
const MANY_CLIENTS_MS = 3_000;

async function connect(url) {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

const INSERT = { name: 'floor_insert', text: 'INSERT INTO commit_floor (at, payload) VALUES ($1, $2)' };

async function measureCommitFloor(url) {
  const setup = await connect(url);
  await setup.query('DROP TABLE IF EXISTS commit_floor');
  await setup.query('CREATE TABLE commit_floor (id bigserial PRIMARY KEY, at bigint NOT NULL, payload text)');
  try {
    const one = await connect(url);
    const latencies = [];
    try {
      for (let i = 0; i < 200; i++) await one.query({ ...INSERT, values: [Date.now(), 'warm-up'] });
      for (let i = 0; i < ONE_CLIENT_COMMITS; i++) {
        const t0 = process.hrtime.bigint();
        await one.query({ ...INSERT, values: [Date.now(), 'x'] });
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    } finally {
      await one.end();
    }
    latencies.sort((a, b) => a - b);

    const clients = await Promise.all(Array.from({ length: MANY_CLIENTS }, () => connect(url)));
    let commits = 0;
    const until = Date.now() + MANY_CLIENTS_MS;
    const t0 = Date.now();
    try {
      await Promise.all(
        clients.map(async (c) => {
          while (Date.now() < until) {
            await c.query({ ...INSERT, values: [Date.now(), 'x'] });
            commits++;
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    return {
      commitP50Ms: percentile(latencies, 50),
      commitP99Ms: percentile(latencies, 99),
      commitsPerSecOneClient: 1000 / (latencies.reduce((a, b) => a + b, 0) / latencies.length),
      commitsPerSecManyClients: (commits * 1000) / (Date.now() - t0),
      manyClients: MANY_CLIENTS,
    };
  } finally {
    await setup.query('DROP TABLE IF EXISTS commit_floor').catch(() => undefined);
    await setup.end();
  }
}

/**
 * The one-client figure alone, measured by a workload's own process in its own database right
 * before and right after the workload (see harness.js): on a machine whose speed drifts within a
 * run, the latency of a workload is compared with the commits the server did at that moment.
 * The p50 of `commits` single-row INSERTs, each committed, after 100 untimed ones.
 */
async function oneClientCommitP50(url, commits = 1_000) {
  const client = await connect(url);
  const table = `commit_floor_${process.pid}`;
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (id bigserial PRIMARY KEY, at bigint NOT NULL, payload text)`);
    const insert = { name: `floor_insert_${process.pid}`, text: `INSERT INTO ${table} (at, payload) VALUES ($1, $2)` };
    for (let i = 0; i < 100; i++) await client.query({ ...insert, values: [Date.now(), 'warm-up'] });
    const latencies = [];
    for (let i = 0; i < commits; i++) {
      const t0 = process.hrtime.bigint();
      await client.query({ ...insert, values: [Date.now(), 'x'] });
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    latencies.sort((a, b) => a - b);
    return percentile(latencies, 50);
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await client.end();
  }
}

module.exports = { measureCommitFloor, oneClientCommitP50 };
