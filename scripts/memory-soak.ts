/**
 * Memory soak: runs many small workflows in a child process (test/fixtures/memory-soak-app.ts,
 * with --expose-gc) and prints the heap after a full GC at intervals after a warm-up.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *     node -r ts-node/register/transpile-only scripts/memory-soak.ts [--workflows 100000] [--kind steps]
 *       [--warmup 5000] [--concurrency 64] [--samples 10]
 *
 * Kinds: steps (three steps), sleep, recv, event (getEvent with a timeout), waits (a sleep and a
 * getEvent), stepsAndWaits (three steps, a sleep and a getEvent), mixed (steps, sleep, recv,
 * event in turn). It runs in a fresh schema `soak_<random>`, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { ChildApp } from '../test/support/child-app';

export interface SoakOptions {
  databaseUrl: string;
  schema: string;
  kind: string;
  workflows: number;
  warmup: number;
  concurrency?: number;
  samples?: number;
}

export interface SoakResult {
  kind: string;
  workflows: number;
  warmup: number;
  concurrency: number;
  /** Heap after a full GC; `done` counts the workflows finished since the warm-up, `ms` the time since it began. */
  samples: { done: number; heapUsed: number; ms: number }[];
}

/** Runs the soak fixture in a child process with --expose-gc and returns its samples. */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const child = ChildApp.start('memory-soak-app.ts', {
    DATABASE_URL: options.databaseUrl,
    DBOS_SCHEMA: options.schema,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim(),
    SOAK_KIND: options.kind,
    SOAK_WORKFLOWS: String(options.workflows),
    SOAK_WARMUP: String(options.warmup),
    SOAK_CONCURRENCY: String(options.concurrency ?? 64),
    SOAK_SAMPLES: String(options.samples ?? 10),
  });
  const code = await child.waitForExit();
  const line = child.log.split('\n').find((l) => l.startsWith('SOAK '));
  if (code !== 0 || !line) throw new Error(`the soak exited with ${code}; output:\n${child.log}`);
  return JSON.parse(line.slice('SOAK '.length)) as SoakResult;
}

/**
 * Bytes per workflow by which the heap rose after the warm-up: the sum of the rises between
 * samples. A fall does not offset a rise: the heap falls once or twice early on (V8 flushing
 * bytecode and caches left from the start-up), and that must not hide a steady rise.
 */
export function growthPerWorkflow(result: SoakResult): number {
  let rises = 0;
  for (let i = 1; i < result.samples.length; i++) rises += Math.max(0, result.samples[i].heapUsed - result.samples[i - 1].heapUsed);
  return rises / result.samples[result.samples.length - 1].done;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workflows: { type: 'string', default: '100000' },
      kind: { type: 'string', default: 'steps' },
      warmup: { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '64' },
      samples: { type: 'string', default: '10' },
    },
  });
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('Set DATABASE_URL to the Postgres to run on.');
  const schema = `soak_${randomBytes(4).toString('hex')}`;
  let result: SoakResult;
  try {
    result = await runSoak({
      databaseUrl,
      schema,
      kind: values.kind!,
      workflows: Number(values.workflows),
      warmup: Number(values.warmup),
      concurrency: Number(values.concurrency),
      samples: Number(values.samples),
    });
  } finally {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
  for (const s of result.samples) console.log(`${String(s.done).padStart(8)} workflows  ${mb(s.heapUsed).padStart(10)}  ${(s.ms / 1000).toFixed(1)} s`);
  const first = result.samples[0];
  const last = result.samples[result.samples.length - 1];
  console.log(
    `${result.kind}: heap after GC ${mb(first.heapUsed)} after the warm-up (${result.warmup} workflows), ${mb(last.heapUsed)} after ${last.done} more: ` +
      `${((last.heapUsed - first.heapUsed) / last.done).toFixed(1)} B net, ${growthPerWorkflow(result).toFixed(1)} B of rises per workflow`,
  );
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
