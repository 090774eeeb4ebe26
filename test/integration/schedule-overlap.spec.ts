import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, Scheduled, ScheduleClient, Step, Workflow, WorkflowClient, type OverlapPolicy } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, uniqueSchema } from '../support/database';
import { maxOverlap, waitFor } from '../support/wait';

interface Run {
  id: string;
  scheduled: number;
  start: number;
  end?: number;
}

/** Every run's times, by workflow id (one process). */
const runs = new Map<string, Run>();
const runsWith = (prefix: string) => [...runs.values()].filter((r) => r.id.startsWith(prefix)).sort((a, b) => a.scheduled - b.scheduled);
const intervals = (list: Run[]) => list.map((r): [number, number] => [r.start, r.end ?? Number.MAX_SAFE_INTEGER]);

/** 2.5 s of work in five steps, on a schedule ticking every second: each run overlaps the next two ticks. */
async function slowRun(dbos: DbosContext, scheduledTime: Date, rest: (ms: number) => Promise<void>): Promise<void> {
  const id = dbos.workflowId!;
  runs.set(id, { id, scheduled: scheduledTime.getTime(), start: Date.now() });
  for (let i = 0; i < 5; i++) await rest(500);
  runs.get(id)!.end = Date.now();
}

@Injectable()
class Slow {
  constructor(private readonly dbos: DbosContext) {}

  @Step() async rest(ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  @Workflow() async run(scheduledTime: Date): Promise<void> {
    await slowRun(this.dbos, scheduledTime, (ms) => this.rest(ms));
  }

  @Scheduled('* * * * * *', { overlap: 'skip' })
  async skipping(scheduledTime: Date): Promise<void> {
    await slowRun(this.dbos, scheduledTime, (ms) => this.rest(ms));
  }

  @Scheduled('* * * * * *', { overlap: 'cancel-other' })
  async replacing(scheduledTime: Date): Promise<void> {
    await slowRun(this.dbos, scheduledTime, (ms) => this.rest(ms));
  }

  @Scheduled('* * * * * *', { overlap: 'buffer-one' })
  async buffering(scheduledTime: Date): Promise<void> {
    await slowRun(this.dbos, scheduledTime, (ms) => this.rest(ms));
  }
}

/** Consecutive runs never overlap, and each starts no sooner than the previous one ended. */
function expectOneAtATime(list: Run[]): void {
  expect(maxOverlap(intervals(list))).toBe(1);
  for (let i = 1; i < list.length; i++) expect(list[i].start).toBeGreaterThanOrEqual(list[i - 1].end!);
}

describe('overlap policies (a workflow of 2.5 s on a tick every second)', () => {
  const schema = uniqueSchema('overlap');
  let app: INestApplicationContext;
  let schedules: ScheduleClient;
  let client: WorkflowClient;

  beforeAll(async () => {
    app = await createDbosApp([Slow], { schema });
    schedules = app.get(ScheduleClient);
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  /** Runs a runtime schedule with `overlap` until `enough`, pauses it and waits for its last workflow to end. */
  async function runSchedule(overlap: OverlapPolicy, enough: (list: Run[]) => boolean): Promise<Run[]> {
    const name = `slow-${overlap}`;
    await schedules.create({ name, cron: '* * * * * *', workflowName: 'Slow.run', overlap });
    await waitFor(() => enough(runsWith(`schedule:${name}:`)), { what: `runs of ${overlap}`, timeoutMs: 20_000, intervalMs: 50 });
    await schedules.pause(name);
    const still = async () => (await client.list({ workflowName: 'Slow.run', status: ['ENQUEUED', 'PENDING'] })).length;
    await waitFor(async () => (await still()) === 0, { what: 'the last run to end', timeoutMs: 10_000 });
    return runsWith(`schedule:${name}:`);
  }

  it("'allow' starts every tick: runs overlap", async () => {
    const list = await runSchedule('allow', (l) => l.length >= 4);
    expect(maxOverlap(intervals(list))).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < list.length; i++) expect(list[i].scheduled - list[i - 1].scheduled).toBe(1_000);
  });

  it("'skip' starts no tick while the previous tick's workflow runs, and counts the skipped ticks", async () => {
    const list = await runSchedule('skip', (l) => l.filter((r) => r.end).length >= 2);
    expectOneAtATime(list);
    // A run takes 2.5 s: the two ticks after each start are skipped.
    for (let i = 1; i < list.length; i++) expect(list[i].scheduled - list[i - 1].scheduled).toBeGreaterThanOrEqual(2_000);
    for (const r of list) expect(r.start - r.scheduled).toBeLessThan(1_000);
    expect((await schedules.get('slow-skip'))!.skippedTicks).toBeGreaterThanOrEqual(2);
  });

  it("'buffer-one' holds one tick back until the running workflow ends, then starts it; further ticks are skipped", async () => {
    const list = await runSchedule('buffer-one', (l) => l.filter((r) => r.end).length >= 3);
    expectOneAtATime(list);
    // From the second run on, each was held back: it starts when the previous one ends, after its tick.
    for (let i = 1; i < list.length; i++) {
      expect(list[i].start - list[i - 1].end!).toBeLessThan(1_000);
      expect(list[i].start - list[i].scheduled).toBeGreaterThan(1_000);
    }
    expect((await schedules.get('slow-buffer-one'))!.skippedTicks).toBeGreaterThanOrEqual(1);
  });

  it("'cancel-other' cancels the running workflow at each tick and starts the new one", async () => {
    const list = await runSchedule('cancel-other', (l) => l.length >= 4);
    const statuses = new Map((await client.list({ workflowName: 'Slow.run' })).map((w) => [w.workflowId, w.status]));
    const ids = list.map((r) => r.id);
    for (let i = 1; i < list.length; i++) expect(list[i].scheduled - list[i - 1].scheduled).toBe(1_000);
    // Every run but the last was cancelled by the next tick, before its 2.5 s of work ended.
    for (const id of ids.slice(0, -1)) expect(statuses.get(id)).toBe('CANCELLED');
    for (const r of list.slice(0, -1)) expect(r.end).toBeUndefined();
  });

  it("@Scheduled(cron, { overlap: 'skip' | 'buffer-one' | 'cancel-other' }) holds the same way", async () => {
    await waitFor(
      () => runsWith('sched-Slow.skipping-').filter((r) => r.end).length >= 2 && runsWith('sched-Slow.buffering-').filter((r) => r.end).length >= 2,
      {
        what: 'two runs of each @Scheduled workflow',
        timeoutMs: 20_000,
        intervalMs: 50,
      },
    );
    const skipping = runsWith('sched-Slow.skipping-').filter((r) => r.end);
    expectOneAtATime(skipping);
    for (let i = 1; i < skipping.length; i++) expect(skipping[i].scheduled - skipping[i - 1].scheduled).toBeGreaterThanOrEqual(2_000);
    const buffering = runsWith('sched-Slow.buffering-').filter((r) => r.end);
    expectOneAtATime(buffering);
    for (let i = 1; i < buffering.length; i++) expect(buffering[i].start - buffering[i - 1].end!).toBeLessThan(1_000);
    const replacing = await client.list({ workflowName: 'Slow.replacing', sortDesc: false });
    expect(replacing.length).toBeGreaterThanOrEqual(4);
    const cancelled = replacing.filter((w) => w.status === 'CANCELLED');
    // All but the run of the latest tick (and at most one tick being decided) were cancelled by the next tick.
    expect(cancelled.length).toBeGreaterThanOrEqual(replacing.length - 2);
    for (const w of cancelled) expect(runs.get(w.workflowId)?.end).toBeUndefined();
  });
});
