#!/usr/bin/env node
// Builds and packs this package (npm pack), then, for each consumer app in this directory, installs
// the tarball into a temporary directory next to the consumer's own dependencies, compiles the app
// with tsc (skipLibCheck: false), starts it and runs a workflow over HTTP against a real Postgres.
//
//   node test/consumers/run.js [--only name,name] [--outputFile results.json] [--keep] [--embedded]
//
// DATABASE_URL: the Postgres to use (default postgres://postgres@127.0.0.1:5432/postgres).
// --embedded: use an embedded Postgres instead (the package's own startEmbeddedPostgres, data
// under .dbos/consumers-pgdata, port DBOS_CONSUMERS_PG_PORT or 54334).
// --outputFile writes the counts in the shape of jest's --json results (numPassedTests,
// numFailedTests), so .ci/run sums them with the test suite's.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomBytes } = require('node:crypto');

const root = path.join(__dirname, '..', '..');
let databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** The consumer apps: each a directory here with its package.json and tsconfig.json; all share app/. */
const consumers = [
  { name: 'cjs-nest12', format: 'commonjs', nest: 12 },
  { name: 'esm-nest12', format: 'esm', nest: 12 },
  { name: 'cjs-nest11', format: 'commonjs', nest: 11 },
  { name: 'cjs-nest10', format: 'commonjs', nest: 10 },
  // nest new-shaped projects running their own tests (`npm test`) on the packed package:
  { name: 'vitest-esm-nest12', kind: 'tests', nest: 12 },
  { name: 'jest-cjs-nest12', kind: 'tests', nest: 12 },
  // src/main.ts is the README's complete example, read from README.md, built with tsc and run.
  { name: 'readme-example', kind: 'readme', nest: 12 },
];

/** The first ts code block under the README's "A complete example" heading: the file a user pastes. */
function readmeExample() {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A complete example'));
  const match = /```ts\n([\s\S]*?)\n```/.exec(section);
  if (!match) throw new Error('README.md has no ts code block under "## A complete example"');
  return `${match[1]}\n`;
}

/** The README example's requests, as its curl lines make them (the confirm is sent while it sleeps). */
async function readmeChecks(base) {
  const placed = await request('POST', `${base}/orders`, { id: '1', sku: 'tea', quantity: 1 });
  expectStatus(placed, 201);
  if (placed.json?.workflowId !== 'order-1') throw new Error(`unexpected ${placed.text}`);
  expectStatus(await request('POST', `${base}/orders/order-1/confirm`), 201);
  const result = await request('GET', `${base}/orders/order-1/result`);
  expectStatus(result, 200);
  if (result.json?.tracking !== 'TRK-1' || result.json?.remaining !== 9) throw new Error(`unexpected result ${result.text}`);
  const status = await request('GET', `${base}/orders/order-1`);
  expectStatus(status, 200);
  if (status.json?.status !== 'SUCCESS') throw new Error(`unexpected status ${status.text}`);
  const unknown = await request('GET', `${base}/orders/no-such-order`);
  expectStatus(unknown, 404);
}

async function withDatabaseClient(url, fn) {
  const { Client } = require(require.resolve('pg', { paths: [root] }));
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database of its own for the README example (it uses the default schema and a public.stock table), with its stock row. */
async function createExampleDatabase(name) {
  await withDatabaseClient(databaseUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  await withDatabaseClient(url.href, (c) => c.query("CREATE TABLE stock (sku text PRIMARY KEY, count int NOT NULL); INSERT INTO stock VALUES ('tea', 10)"));
  return url.href;
}

function freePort() {
  return new Promise((resolve) => {
    const server = require('node:net').createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Waits until `base` answers HTTP (any status). */
async function untilListening(app, base) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await fetch(base, { signal: AbortSignal.timeout(2_000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`the example did not listen within 60 s:\n${app.output}`);
      if (app.child.exitCode !== null) throw new Error(`the example exited (${app.child.exitCode}):\n${app.output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * HTTP checks made against each running app, in order; `base` is its URL. A check throws to fail.
 * Checks for what app/extensions.ts adds (a health endpoint, an exception filter) go here too.
 */
const appChecks = [
  {
    name: 'starts a workflow over HTTP and waits for its result',
    async run(base) {
      const name = `consumer-${randomBytes(3).toString('hex')}`;
      const started = await request('POST', `${base}/greetings`, { name });
      expectStatus(started, 201);
      const { workflowId } = started.json;
      if (typeof workflowId !== 'string') throw new Error(`no workflowId in ${started.text}`);
      const result = await request('GET', `${base}/greetings/${encodeURIComponent(workflowId)}/result`);
      expectStatus(result, 200);
      if (result.json.greeting !== `Hello, ${name}!` || typeof result.json.databaseTime !== 'string') {
        throw new Error(`unexpected result ${result.text}`);
      }
    },
  },
  {
    name: 'answers liveness and readiness through @nestjs/terminus',
    async run(base) {
      const live = await request('GET', `${base}/health/live`);
      expectStatus(live, 200);
      if (live.json?.details?.workflows?.database !== 'up') throw new Error(`unexpected liveness ${live.text}`);
      const ready = await request('GET', `${base}/health/ready`);
      expectStatus(ready, 200);
      if (ready.json?.details?.workflows?.recovery !== 'done') throw new Error(`unexpected readiness ${ready.text}`);
    },
  },
  {
    name: 'maps the library errors to HTTP statuses (DbosExceptionFilter): an unknown workflow is a 404',
    async run(base) {
      const missing = await request('GET', `${base}/greetings/no-such-workflow/result`);
      expectStatus(missing, 404);
      if (!/No workflow has the id "no-such-workflow"/.test(missing.json?.message ?? '')) throw new Error(`unexpected body ${missing.text}`);
    },
  },
];

function parseArgs(argv) {
  const args = { only: undefined, outputFile: undefined, keep: false, embedded: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') args.only = argv[++i].split(',');
    else if (argv[i] === '--outputFile') args.outputFile = path.resolve(argv[++i]);
    else if (argv[i] === '--keep') args.keep = true;
    else if (argv[i] === '--embedded') args.embedded = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

/** Runs a command; resolves with its output, rejects (with the output) on a non-zero exit or timeout. */
function run(command, args, options = {}) {
  const { timeoutMs = 300_000, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}:\n${output.slice(-4000)}`));
    });
  });
}

async function request(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

function expectStatus(response, status) {
  if (response.status !== status) throw new Error(`HTTP ${response.status} (expected ${status}): ${response.text}`);
}

/** Starts the compiled app; resolves once it prints its URL. */
function startApp(dir, env, { waitForLine = true } = {}) {
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const app = { child, output: '', exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal))) };
  child.stdout.on('data', (c) => (app.output += c));
  child.stderr.on('data', (c) => (app.output += c));
  if (!waitForLine) return app;
  app.ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start within 60 s:\n${app.output}`)), 60_000);
    const check = () => {
      const match = /CONSUMER LISTENING (\S+) format=(\S+)/.exec(app.output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1], format: match[2] });
      }
    };
    child.stdout.on('data', check);
    app.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the app exited (${code}) before listening:\n${app.output}`));
    });
  });
  return app;
}

async function dropSchema(schema) {
  const { Client } = require(require.resolve('pg', { paths: [root] }));
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const selected = consumers.filter((c) => !args.only || args.only.includes(c.name));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nestjs-dbos-consumers-'));
  const results = [];
  const record = async (name, fn) => {
    const started = Date.now();
    try {
      await fn();
      results.push({ name, status: 'passed', durationMs: Date.now() - started });
      console.log(`  ✓ ${name} (${Date.now() - started} ms)`);
      return true;
    } catch (err) {
      results.push({ name, status: 'failed', message: err.message, durationMs: Date.now() - started });
      console.log(`  ✕ ${name}\n${String(err.message).replace(/^/gm, '      ')}`);
      return false;
    }
  };
  const skip = (name) => {
    results.push({ name, status: 'failed', message: 'not run: an earlier step failed' });
    console.log(`  ✕ ${name} (not run: an earlier step failed)`);
  };

  let tarball;
  let embedded;
  console.log(`Consumers in ${work}`);
  const packed = await record('npm run build && npm pack', async () => {
    await run('npm', ['run', 'build'], { cwd: root });
    const out = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: root });
    tarball = path.join(work, JSON.parse(out.slice(out.indexOf('[')))[0].filename);
  });
  if (args.embedded && packed) {
    const { startEmbeddedPostgres } = require(path.join(root, 'dist', 'lib'));
    const port = Number(process.env.DBOS_CONSUMERS_PG_PORT || 54334);
    embedded = await startEmbeddedPostgres({ dir: path.join(root, '.dbos', 'consumers-pgdata'), port });
    databaseUrl = embedded.url;
  }
  console.log(`Postgres: ${databaseUrl.replace(/:[^:@/]*@/, ':***@')}`);

  for (const consumer of selected) {
    console.log(`${consumer.name}:`);
    const source = path.join(__dirname, consumer.name);
    const dir = path.join(work, consumer.name);
    const steps = [
      [
        `${consumer.name}: npm install (the packed package with its peers)`,
        async () => {
          fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
          if (consumer.kind === 'readme') fs.writeFileSync(path.join(dir, 'src', 'main.ts'), readmeExample());
          else for (const file of fs.readdirSync(path.join(__dirname, 'app'))) fs.copyFileSync(path.join(__dirname, 'app', file), path.join(dir, 'src', file));
          if (consumer.kind === 'tests') {
            fs.mkdirSync(path.join(dir, 'test'));
            for (const file of fs.readdirSync(path.join(__dirname, 'tests')))
              fs.copyFileSync(path.join(__dirname, 'tests', file), path.join(dir, 'test', file));
          }
          for (const file of fs.readdirSync(source)) if (file !== 'package.json') fs.copyFileSync(path.join(source, file), path.join(dir, file));
          const pkg = JSON.parse(fs.readFileSync(path.join(source, 'package.json'), 'utf8'));
          pkg.dependencies['nestjs-dbos'] = `file:${tarball}`;
          fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
          await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir });
        },
      ],
      [
        `${consumer.name}: tsc with skipLibCheck: false`,
        async () => {
          const tsconfig = JSON.parse(fs.readFileSync(path.join(dir, 'tsconfig.json'), 'utf8'));
          if (tsconfig.compilerOptions.skipLibCheck !== false) throw new Error('the consumer tsconfig must set skipLibCheck: false');
          await run(process.execPath, [path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: dir });
          const nest = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', '@nestjs', 'core', 'package.json'), 'utf8')).version;
          if (Number(nest.split('.')[0]) !== consumer.nest) throw new Error(`installed @nestjs/core ${nest}, expected major ${consumer.nest}`);
        },
      ],
    ];
    if (consumer.kind === 'tests') steps.pop(); // its test runner compiles the sources
    let ok = true;
    for (const [name, fn] of steps) {
      if (!packed || !ok) skip(name);
      else ok = await record(name, fn);
    }
    const schema = `consumer_${consumer.name.replace(/-/g, '_')}_${randomBytes(4).toString('hex')}`;
    if (consumer.kind === 'tests') {
      const testName = `${consumer.name}: npm test runs a workflow e2e test on the packed package`;
      if (!packed || !ok) skip(testName);
      else await record(testName, () => run('npm', ['test'], { cwd: dir, env: { ...process.env, DATABASE_URL: databaseUrl, DBOS_SCHEMA: schema } }));
      await dropSchema(schema).catch((err) => console.log(`  (could not drop schema ${schema}: ${err.message})`));
      continue;
    }
    if (consumer.kind === 'readme') {
      const exampleName = `${consumer.name}: the README's complete example, as pasted, serves its requests`;
      if (!packed || !ok) {
        skip(exampleName);
        continue;
      }
      const database = `readme_example_${randomBytes(4).toString('hex')}`;
      await record(exampleName, async () => {
        const url = await createExampleDatabase(database);
        const port = await freePort();
        const app = startApp(dir, { DATABASE_URL: url, PORT: String(port) }, { waitForLine: false });
        try {
          const base = `http://127.0.0.1:${port}`;
          await untilListening(app, base);
          await readmeChecks(base);
        } finally {
          app.child.kill('SIGTERM');
          await app.exited;
        }
      });
      await withDatabaseClient(databaseUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)).catch(() => undefined);
      continue;
    }
    const runName = `${consumer.name}: starts as ${consumer.format} and serves the HTTP checks`;
    if (!packed || !ok) {
      skip(runName);
      continue;
    }
    let app;
    const started = await record(runName, async () => {
      app = startApp(dir, { DATABASE_URL: databaseUrl, DBOS_SCHEMA: schema, PORT: '0' });
      const { url, format } = await app.ready;
      if (format !== consumer.format) throw new Error(`the app runs as ${format}, expected ${consumer.format}`);
      for (const check of appChecks) {
        try {
          await check.run(url);
        } catch (err) {
          throw new Error(`${check.name}: ${err.message}`, { cause: err });
        }
      }
    });
    // With enableShutdownHooks, Nest closes the app on SIGTERM, then re-raises the signal.
    const stopName = `${consumer.name}: shuts down on SIGTERM within 20 s`;
    if (!started && !app) skip(stopName);
    else {
      await record(stopName, async () => {
        app.child.kill('SIGTERM');
        let timer;
        const code = await Promise.race([app.exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), 20_000)))]);
        clearTimeout(timer);
        if (code === 'timeout') app.child.kill('SIGKILL');
        if (code !== 0 && code !== 'SIGTERM') throw new Error(`exited with ${code}:\n${app.output.slice(-4000)}`);
      });
    }
    await dropSchema(schema).catch((err) => console.log(`  (could not drop schema ${schema}: ${err.message})`));
  }

  await embedded?.stop();
  const passed = results.filter((r) => r.status === 'passed').length;
  const failed = results.length - passed;
  console.log(`Consumers: ${passed} passed, ${failed} failed`);
  if (args.outputFile) {
    const json = { numPassedTests: passed, numFailedTests: failed, numRuntimeErrorTestSuites: 0, success: failed === 0, testResults: results };
    fs.writeFileSync(args.outputFile, JSON.stringify(json, null, 2));
  }
  if (!args.keep) fs.rmSync(work, { recursive: true, force: true });
  process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
