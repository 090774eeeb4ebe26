'use strict';
// Counts the statements and commits every system sends, the same way for all of them: each
// copy of `pg` the process can load gets its Client.prototype.query wrapped. A statement sent
// outside BEGIN ... COMMIT is its own transaction (one commit); inside one, the COMMIT counts.
// pg_stat_statements is not assumed (it needs a server restart to load), and pg_stat_database
// only shows other backends' counts after they flush them (up to 10 s later), so the client side
// is where the numbers are exact per workload.
const path = require('node:path');

const counts = { statements: 0, commits: 0 };
/** The last statement sent (text and values), so a benchmark can EXPLAIN what a call ran. */
const last = { text: '', values: [] };
const IN_TX = Symbol('benchInTransaction');
/** Called with the text of every counted statement (see onStatement). */
const listeners = new Set();
const UNCOUNTED = Symbol('benchUncounted');

function textOf(query) {
  if (typeof query === 'string') return query;
  if (query && typeof query.text === 'string') return query.text;
  return '';
}

function patch(pg) {
  const proto = pg.Client && pg.Client.prototype;
  if (!proto || proto.query.__benchCounted) return;
  const original = proto.query;
  const counted = function (query, ...rest) {
    if (this[UNCOUNTED]) return original.call(this, query, ...rest);
    last.text = textOf(query);
    last.values = query && Array.isArray(query.values) ? query.values : Array.isArray(rest[0]) ? rest[0] : [];
    const full = textOf(query).trim();
    const text = full.slice(0, 20).toUpperCase();
    counts.statements++;
    for (const listener of listeners) listener(full);
    // One text holding a whole transaction (BEGIN; ...; COMMIT) is one commit.
    if (/^(BEGIN|START TRANSACTION)/.test(text) && /COMMIT\s*;?\s*$/i.test(full)) counts.commits++;
    else if (/^(BEGIN|START TRANSACTION)/.test(text)) this[IN_TX] = true;
    else if (/^(COMMIT|END)\b/.test(text)) {
      this[IN_TX] = false;
      counts.commits++;
    } else if (/^ROLLBACK\b/.test(text) && !/^ROLLBACK TO/.test(text)) this[IN_TX] = false;
    else if (!this[IN_TX] && text !== '') counts.commits++;
    return original.call(this, query, ...rest);
  };
  counted.__benchCounted = true;
  proto.query = counted;
}

// Every copy of pg a system may load: the root's, bench/'s and any nested under the SDKs.
const ROOTS = [path.resolve(__dirname, '..'), __dirname];
const NESTED = ['@dbos-inc/dbos-sdk', 'pg-boss', 'graphile-worker', 'knex'];
const seen = new Set();
function patchAll() {
  const candidates = [];
  for (const root of ROOTS) {
    candidates.push({ paths: [root] });
    for (const pkg of NESTED) {
      try {
        candidates.push({ paths: [path.dirname(require.resolve(`${pkg}/package.json`, { paths: [root] }))] });
      } catch {
        // not installed here
      }
    }
  }
  for (const options of candidates) {
    let file;
    try {
      file = require.resolve('pg', options);
    } catch {
      continue;
    }
    if (seen.has(file)) continue;
    seen.add(file);
    patch(require(file));
  }
}
patchAll();

/** A snapshot of the counters, to subtract from a later one. */
function snapshot() {
  return { ...counts, cpu: process.cpuUsage() };
}

/**
 * Statements and commits per operation since `before`, and the CPU time (user + system) this
 * process spent per operation: the client's own cost, steadier than a rate on a shared machine.
 */
function perOperation(before, operations) {
  if (!operations) return { statementsPerOp: null, commitsPerOp: null, cpuUsPerOp: null };
  const round = (v) => Math.round(v * 100) / 100;
  const cpu = process.cpuUsage(before.cpu);
  return {
    statementsPerOp: round((counts.statements - before.statements) / operations),
    commitsPerOp: round((counts.commits - before.commits) / operations),
    cpuUsPerOp: round((cpu.user + cpu.system) / operations),
  };
}

/** Calls `listener(text)` for every statement counted from now on; returns the unsubscribe. */
function onStatement(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Leaves a client's queries out of the counts (the benchmark's own probes). */
function uncounted(client) {
  client[UNCOUNTED] = true;
  return client;
}

module.exports = { snapshot, perOperation, uncounted, onStatement, last };
