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
