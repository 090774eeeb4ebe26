'use strict';
// The footprint workload's driver (nestjs-dbos only): what DbosModule costs an idle application.
// The library is compiled to JavaScript first (as published: tsc -p tsconfig.build.json), since
// ts-node would load the TypeScript compiler and dwarf the figure. Then two fresh processes under
// `node --expose-gc` (bench/systems/nestjs-dbos-footprint.js): a bare Nest application context,
// and the same with DbosModule, a queue and one workflow provider, alternated --footprint-runs
// times (3). Each reports its memory after start-up, warm-up, gc() and 5 s idle; the medians
// are reported. The last DbosModule run then also counts the statements it sends while idle.
//
// The build goes under .dbos/ in the repository (ignored by git), not the system's temporary
// folder: the compiled files must resolve @nestjs/*, pg and typeorm from the repository's
// node_modules, as the bare application does.
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { spawn, spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const CHILD = path.join(__dirname, 'systems', 'nestjs-dbos-footprint.js');
const CHILD_TIMEOUT_MS = 2 * 60_000;

function compile() {
  fs.mkdirSync(path.join(ROOT, '.dbos'), { recursive: true });
  const outDir = fs.mkdtempSync(path.join(ROOT, '.dbos', 'footprint-'));
  const started = Date.now();
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) {
    fs.rmSync(outDir, { recursive: true, force: true });
    throw new Error(`tsc -p tsconfig.build.json failed: ${(result.stdout + result.stderr).trim().split('\n')[0]}`);
  }
  console.error(`[footprint] compiled lib/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { outDir, entry: path.join(outDir, 'lib', 'index.js') };
}

// Runs one application; resolves with its two IPC messages (memory, then the idle window).
function runApp(variant, env) {
  const child = spawn(process.execPath, ['--expose-gc', CHILD], {
    cwd: ROOT,
    env: { ...env, BENCH_FOOTPRINT_VARIANT: variant },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const messages = [];
  let lastError = '';
  child.on('message', (m) => messages.push(m));
  // Both streams go to stderr: stdout is kept for the tables.
  readline.createInterface({ input: child.stdout }).on('line', (line) => process.stderr.write(`[footprint ${variant}] ${line}\n`));
  readline.createInterface({ input: child.stderr }).on('line', (line) => {
    process.stderr.write(`[footprint ${variant}] ${line}\n`);
    if (lastError === '' && /Error|failed/.test(line)) lastError = line.replace(/^.*footprint benchmark failed:\s*/, '').trim();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && messages.length === 2) resolve({ ...messages[0], ...messages[1] });
      else reject(new Error(`${variant} application: exit ${signal ?? code}${lastError ? `: ${lastError}` : ''}`));
    });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

// One row per application: the median of its runs for each figure (the resident set of two
// runs of the same app differs by a few MiB), with every run's RSS beside it.
function summarize(variant, runs) {
  const of = (key) => (runs.every((r) => typeof r.memory[key] === 'number') ? median(runs.map((r) => r.memory[key])) : null);
  return {
    workload: 'footprint',
    system: 'nestjs-dbos',
    variant,
    runs: runs.length,
    rssBytes: of('rss'),
    heapUsedBytes: of('heapUsed'),
    heapTotalBytes: of('heapTotal'),
    externalBytes: of('external'),
    rssAnonBytes: of('rssAnon'),
    rssFileBytes: of('rssFile'),
    rssRunsBytes: runs.map((r) => r.memory.rss),
    startupMs: median(runs.map((r) => r.startupMs)),
    modules: runs[0].modules,
    packages: runs[0].packages.length,
  };
}

async function measureFootprint(databaseUrl, settings) {
  const { outDir, entry } = compile();
  try {
    const env = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      BENCH_DATABASE_URL: databaseUrl,
      BENCH_FOOTPRINT_LIB: entry,
      BENCH_FOOTPRINT_WINDOW_MS: String(settings.footprintWindowSec * 1000),
    };
    const bareRuns = [];
    const dbosRuns = [];
    // Alternated, so that whatever else the machine does weighs on both alike. The last run of
    // the DbosModule app also counts its idle statements.
    for (let i = 0; i < settings.footprintRuns; i++) {
      const last = i === settings.footprintRuns - 1;
      console.error(`[footprint] run ${i + 1}/${settings.footprintRuns}: bare Nest application context ...`);
      bareRuns.push(await runApp('bare', env));
      console.error(`[footprint] run ${i + 1}/${settings.footprintRuns}: with DbosModule${last ? ` (then ${settings.footprintWindowSec} s idle)` : ''} ...`);
      dbosRuns.push(await runApp('dbos', { ...env, BENCH_FOOTPRINT_IDLE: last ? '1' : '0' }));
    }
    const bare = summarize('bare', bareRuns);
    const dbos = summarize('dbos', dbosRuns);
    const idle = dbosRuns[dbosRuns.length - 1].idle;
    const difference = (key) => (dbos[key] === null || bare[key] === null ? null : dbos[key] - bare[key]);
    return [
      bare,
      {
        ...dbos,
        extraPackages: dbosRuns[0].packages.filter((p) => !bareRuns[0].packages.includes(p)),
        idleWindowSec: idle.windowSec,
        idleStatements: idle.statements,
        idleStatementsPerSec: idle.statementsPerSec,
        idleCommitsPerSec: idle.commitsPerSec,
        idleXactCommitPerSec: idle.xactCommitPerSec,
        idleStatementTexts: idle.byText,
        rssAfterIdleBytes: idle.rssAfterWindow,
      },
      {
        workload: 'footprint',
        system: 'nestjs-dbos',
        variant: 'difference',
        rssBytes: difference('rssBytes'),
        heapUsedBytes: difference('heapUsedBytes'),
        heapTotalBytes: difference('heapTotalBytes'),
        externalBytes: difference('externalBytes'),
        rssAnonBytes: difference('rssAnonBytes'),
        rssFileBytes: difference('rssFileBytes'),
        modules: dbos.modules - bare.modules,
        packages: dbos.packages - bare.packages,
      },
    ];
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

module.exports = { measureFootprint };
