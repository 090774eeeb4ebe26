import { getEventListeners, setMaxListeners } from 'node:events';
import { linkSignals } from '../../lib/common/linked-signal.util';
import { growthPerWorkflow, runSoak } from '../../scripts/memory-soak';
import { databaseUrl, dropSchema, uniqueSchema } from '../support/database';

/**
 * Measured on 20 000 workflows (three steps, a sleep and a getEvent each) after a warm-up: with
 * one signal per run, under 30 B of rises per workflow (noise); with an AbortSignal.any per step
 * and per wait (each one kept by the executor's stop signal for good), 220 to 290 B, and still
 * 80 to 130 B when only the waits' or 220 B when only the steps' signals leak.
 */
const MAX_GROWTH_PER_WORKFLOW = 60;

describe('memory soak', () => {
  const schema = uniqueSchema('soak');
  afterAll(() => dropSchema(schema));

  it('the heap after GC does not grow with the number of workflows run (steps and waits)', async () => {
    const result = await runSoak({ databaseUrl: databaseUrl(), schema, kind: 'stepsAndWaits', workflows: 20_000, warmup: 3_000, samples: 5 });
    expect(result.samples.at(-1)!.done).toBe(20_000);
    expect(growthPerWorkflow(result)).toBeLessThan(MAX_GROWTH_PER_WORKFLOW);
  }, 120_000);
});

describe('linkSignals (one signal per run instead of AbortSignal.any per operation)', () => {
  it('aborts with the reason of the source that aborted first', () => {
    const run = new AbortController();
    const stop = new AbortController();
    const linked = linkSignals(run.signal, stop.signal);
    const cancelled = new Error('cancelled');
    run.abort(cancelled);
    stop.abort(new Error('shutdown'));
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe(cancelled);
    // Once aborted it listens to nothing any more.
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });

  it('is aborted at once, with its reason, when a source already is', () => {
    const stop = new AbortController();
    const shutdown = new Error('shutdown');
    stop.abort(shutdown);
    expect(linkSignals(new AbortController().signal, stop.signal).signal.reason).toBe(shutdown);
  });

  it('dispose leaves nothing on a long-lived source, and the signal no longer follows it', () => {
    const stop = new AbortController();
    setMaxListeners(0, stop.signal); // as the executor does with its stop signal
    const links = Array.from({ length: 1000 }, () => linkSignals(new AbortController().signal, stop.signal));
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1000);
    for (const link of links) link.dispose();
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    stop.abort(new Error('shutdown'));
    expect(links[0].signal.aborted).toBe(false);
  });
});
