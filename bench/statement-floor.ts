/**
 * How far the statements of one workflow are from the commit floor, without the module around
 * them: a workflow of three no-op steps (the `sequential` workload's) runs in a Nest application
 * context while node-postgres' queries are recorded; the four statements of its last run (start,
 * two checkpoints, outcome with the last checkpoint) are then sent again, with a new workflow id
 * each time, from one bare client (prepared, one after another), interleaved with groups of four
 * one-client single-row INSERT commits (bench/commit-floor.js' statement). The ratio of the two
 * p50s is the floor of the module's statements alone: what the `sequential` workload's "p50 vs
 * floor" would be if the module's own JavaScript cost nothing.
 *
 * Run: DATABASE_URL=postgres://... node -r ts-node/register/transpile-only bench/statement-floor.ts [rounds]
 * (rounds of 300 workflows and 300 groups of commits each, default 10; uses a fresh schema of its own).
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { join } from 'node:path';
import type { Client as PgClient } from 'pg';
import { DbosModule, Step, Workflow } from '../lib';

// The module's node-postgres (the root's), not bench/node_modules' copy (DBOS Transact's and pg-boss').
const { Client } = require(require.resolve('pg', { paths: [join(__dirname, '..', 'lib')] })) as { Client: typeof PgClient };

const ROUNDS = Number(process.argv[2] ?? 10);
const PER_ROUND = 300;
const url = process.env.DATABASE_URL;
const schema = `bench_stmt_floor_${randomBytes(4).toString('hex')}`;

interface Recorded {
  text: string;
  values: unknown[];
}

let recording: Recorded[] | undefined;
const query = Client.prototype.query as (...args: unknown[]) => unknown;
Client.prototype.query = function (this: PgClient, ...args: unknown[]) {
  const config = args[0] as { text?: string; values?: unknown[] } | string;
  if (recording && typeof config === 'object' && config.text) recording.push({ text: config.text, values: config.values ?? [] });
  return query.apply(this, args);
} as typeof Client.prototype.query;

@Injectable()
class Steps {
  @Step() async s1(n: number): Promise<number> {
    return n;
  }
  @Step() async s2(n: number): Promise<number> {
    return n;
  }
  @Step() async s3(n: number): Promise<number> {
    return n;
  }
  @Workflow() async wf(n: number): Promise<number> {
    return this.s3(await this.s2(await this.s1(n)));
  }
}

@Module({ imports: [DbosModule.forRoot({ database: { url }, schema })], providers: [Steps] })
class FloorModule {}

/** The statements one run of the workflow sends, as sent (the module's own, with their parameters). */
async function recordOneWorkflow(): Promise<Recorded[]> {
  const app = await NestFactory.createApplicationContext(FloorModule, { logger: ['error', 'warn'] });
  try {
    const steps = app.get(Steps);
    for (let i = 0; i < 200; i++) await steps.wf(i); // past start-up work and the first plans
    recording = [];
    await steps.wf(1_000_001);
    const sent = recording;
    recording = undefined;
    const start = sent.find((s) => /INSERT INTO .*workflow_status/s.test(s.text));
    if (!start) throw new Error('no start statement was recorded');
    const id = start.values[0];
    return sent.filter((s) => s.values.includes(id));
  } finally {
    await app.close();
  }
}

const p50 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  if (!url) throw new Error('Set DATABASE_URL');
  const statements = await recordOneWorkflow();
  if (statements.length !== 4) throw new Error(`expected 4 statements for one workflow, recorded ${statements.length}`);
  const oldId = statements[0].values[0];
  const client = new Client({ connectionString: url });
  await client.connect();
  // The floor's table as in commit-floor.js (a regular table: a temporary one's rows write no WAL).
  await client.query(`CREATE TABLE "${schema}".commit_floor (id bigserial PRIMARY KEY, at bigint NOT NULL, payload text)`);
  const floor = { name: 'floor_insert', text: `INSERT INTO "${schema}".commit_floor (at, payload) VALUES ($1, $2)` };
  const workflowTimes: number[] = [];
  const floorTimes: number[] = [];
  const perStatement: number[][] = statements.map(() => []);
  const now = (): bigint => process.hrtime.bigint();
  const micros = (from: bigint): number => Number(now() - from) / 1e3;
  const oneWorkflow = async (keep: boolean): Promise<void> => {
    const id = randomUUID();
    const t0 = now();
    for (const [i, s] of statements.entries()) {
      const t = now();
      const result = await client.query({ name: `floor_stmt_${i}`, text: s.text, values: s.values.map((v) => (v === oldId ? id : v)) });
      if (keep) perStatement[i].push(micros(t));
      if (!result.rowCount) throw new Error(`statement ${i} wrote nothing`);
    }
    if (keep) workflowTimes.push(micros(t0));
  };
  const fourCommits = async (keep: boolean): Promise<void> => {
    const t0 = now();
    for (let i = 0; i < 4; i++) await client.query({ ...floor, values: [Date.now(), 'x'] });
    if (keep) floorTimes.push(micros(t0));
  };
  try {
    for (let i = 0; i < PER_ROUND; i++) {
      await oneWorkflow(false);
      await fourCommits(false);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < PER_ROUND; i++) await oneWorkflow(true);
      for (let i = 0; i < PER_ROUND; i++) await fourCommits(true);
    }
    const [w, f] = [p50(workflowTimes), p50(floorTimes)];
    console.log(`4 one-client single-row commits: p50 ${f.toFixed(0)} µs`);
    console.log(`the 4 statements of one workflow, from a bare client: p50 ${w.toFixed(0)} µs = ${(w / f).toFixed(2)}x the floor`);
    console.log(
      `each statement's p50 against one commit (${(f / 4).toFixed(0)} µs): ` +
        ['start', 'checkpoint', 'checkpoint', 'outcome']
          .map((name, i) => `${name} ${p50(perStatement[i]).toFixed(0)} µs (${(p50(perStatement[i]) / (f / 4)).toFixed(2)}x)`)
          .join(', '),
    );
  } finally {
    await client.query(`DROP SCHEMA "${schema}" CASCADE`).catch(() => undefined);
    await client.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
