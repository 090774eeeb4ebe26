import { WorkflowClient, type OverlapPolicy } from '../../lib';
import { ChildApp } from '../support/child-app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { maxOverlap, quietPeriod, waitFor } from '../support/wait';

/** Runtime schedules on two real processes sharing one database. */
describe('runtime schedules across two processes', () => {
  const schema = uniqueSchema('rtsched');
  const apps: ChildApp[] = [];
  let client: WorkflowClient;

  const ticks = async () =>
    (await sql<{ t: Date; executor: string }>(`SELECT scheduled_at AS t, executor FROM "${schema}".ticks ORDER BY 1`)).map((r) => new Date(r.t).getTime());
  /** The executor that ran each tick's workflow (as it recorded itself), by workflow id. */
  const runBy = async () =>
    new Map((await sql<{ id: string; executor: string }>(`SELECT workflow_id AS id, executor FROM "${schema}".ticks`)).map((r) => [r.id, r.executor]));
  const active = async (name: string) =>
    (await client.list({ workflowName: name, status: ['ENQUEUED', 'PENDING'] })).filter((w) => w.workflowId.startsWith('schedule:')).length;

  beforeAll(async () => {
    await sql(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    for (const table of ['ticks', 'slow_runs']) {
      await sql(
        `CREATE TABLE "${schema}".${table} (workflow_id text NOT NULL, scheduled_at timestamptz NOT NULL, executor text NOT NULL, started_at bigint, ended_at bigint)`,
      );
    }
    for (const id of ['rt-a', 'rt-b']) {
      const app = ChildApp.start('schedules-app.ts', { DBOS_SCHEMA: schema, EXECUTOR_ID: id });
      apps.push(app);
      await app.waitForOutput(/READY/, 60_000);
    }
    client = await WorkflowClient.connect({ database: { url: databaseUrl() }, schema });
  }, 150_000);
  afterAll(async () => {
    await client?.close();
    await Promise.all(apps.map((a) => a.kill('SIGKILL')));
    await dropSchema(schema);
  });

  interface SlowRun {
    id: string;
    scheduled: number;
    start: number;
    end: number;
    executor: string;
  }
  /** The finished runs of a schedule's slow workflow, by tick. */
  const slowRuns = async (name: string): Promise<SlowRun[]> =>
    (
      await sql<{ id: string; t: Date; s: string; e: string; x: string }>(
        `SELECT workflow_id AS id, scheduled_at AS t, started_at AS s, ended_at AS e, executor AS x FROM "${schema}".slow_runs
          WHERE workflow_id LIKE $1 ORDER BY scheduled_at`,
        [`schedule:${name}:%`],
      )
    ).map((r) => ({ id: r.id, scheduled: new Date(r.t).getTime(), start: Number(r.s), end: Number(r.e), executor: r.x }));

  /** Runs a schedule of the 2.5 s workflow with `overlap` until `enough`, pauses it and waits for its last workflow to end. */
  async function runSlow(name: string, overlap: OverlapPolicy, enough: () => Promise<boolean>): Promise<void> {
    await client.schedules.create({ name, cron: '* * * * * *', workflowName: 'Ticks.slow', overlap });
    await waitFor(enough, { what: `runs of ${name}`, timeoutMs: 25_000, intervalMs: 100 });
    await client.schedules.pause(name);
    await waitFor(async () => (await active('Ticks.slow')) === 0, { what: `the last run of ${name} to end`, timeoutMs: 10_000 });
  }

  it("'skip' holds across processes: one run at a time, wherever it runs", async () => {
    await runSlow('slow-skip', 'skip', async () => (await slowRuns('slow-skip')).length >= 2);
    const list = await slowRuns('slow-skip');
    expect(maxOverlap(list.map((r) => [r.start, r.end]))).toBe(1);
    for (let i = 1; i < list.length; i++) expect(list[i].scheduled - list[i - 1].scheduled).toBeGreaterThanOrEqual(2_000);
    expect((await client.schedules.get('slow-skip'))!.skippedTicks).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it("'buffer-one' holds across processes: the held-back tick starts when the running one ends, wherever each runs", async () => {
    await runSlow('slow-buffer', 'buffer-one', async () => (await slowRuns('slow-buffer')).length >= 3);
    const list = await slowRuns('slow-buffer');
    expect(maxOverlap(list.map((r) => [r.start, r.end]))).toBe(1);
    for (let i = 1; i < list.length; i++) {
      expect(list[i].start).toBeGreaterThanOrEqual(list[i - 1].end);
      expect(list[i].start - list[i - 1].end).toBeLessThan(1_500);
      expect(list[i].start - list[i].scheduled).toBeGreaterThan(1_000);
    }
    expect((await client.schedules.get('slow-buffer'))!.skippedTicks).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("'cancel-other' holds across processes: each tick cancels the running workflow, wherever it runs", async () => {
    const ofSchedule = async () =>
      (await client.list({ workflowName: 'Ticks.slow', sortDesc: false })).filter((w) => w.workflowId.startsWith('schedule:slow-cancel:'));
    await runSlow('slow-cancel', 'cancel-other', async () => (await ofSchedule()).length >= 4);
    const runs = (await ofSchedule()).sort((a, b) => a.workflowId.localeCompare(b.workflowId));
    const ticks = runs.map((w) => new Date(w.workflowId.slice('schedule:slow-cancel:'.length)).getTime());
    for (let i = 1; i < ticks.length; i++) expect(ticks[i] - ticks[i - 1]).toBe(1_000);
    expect(runs.slice(0, -1).map((w) => w.status)).toEqual(runs.slice(0, -1).map(() => 'CANCELLED'));
    expect(runs[runs.length - 1].status).toBe('SUCCESS');
    // None of the cancelled ones got to its end.
    expect((await slowRuns('slow-cancel')).map((r) => r.id)).toEqual([runs[runs.length - 1].workflowId]);
  }, 60_000);

  it('a schedule created by a client ticks once per tick on both, stops when paused, goes on when resumed, and survives the loss of a process', async () => {
    await client.schedules.create({ name: 'every-second', cron: '* * * * * *', workflowName: 'Ticks.record' });
    // Both processes take part: whichever decides a tick enqueues its workflow, and the queue
    // dispatchers of both compete to claim it (about half each here; 40 ticks allowed for both to show).
    await waitFor(async () => (await ticks()).length >= 5 && new Set((await runBy()).values()).size === 2, {
      what: 'five ticks, run by both processes',
      timeoutMs: 40_000,
      intervalMs: 100,
    });
    const seen = await ticks();
    expect(new Set(seen).size).toBe(seen.length);
    // No gap: every second from the first tick to the last has its tick.
    for (let i = 1; i < seen.length; i++) expect(seen[i] - seen[i - 1]).toBe(1_000);
    const recordedBy = await runBy();
    const workflows = await client.list({ workflowName: 'Ticks.record' });
    expect(workflows.length).toBeGreaterThanOrEqual(seen.length);
    // The status rows say the same: each tick's workflow ran on the executor that recorded it, and both executors ran some.
    for (const [id, executor] of recordedBy) expect(workflows.find((w) => w.workflowId === id)?.executorId).toBe(executor);
    expect(new Set(workflows.filter((w) => w.status === 'SUCCESS').map((w) => w.executorId))).toEqual(new Set(['rt-a', 'rt-b']));

    await client.schedules.pause('every-second');
    const pausedAt = Date.now();
    await waitFor(async () => (await active('Ticks.record')) === 0, { what: 'the last run to end' });
    const atPause = (await ticks()).length;
    await quietPeriod(2_500, 'a tick of the paused schedule would start in either process');
    expect((await ticks()).length).toBe(atPause);
    expect((await ticks()).every((t) => t <= pausedAt)).toBe(true);

    await client.schedules.resume('every-second');
    const resumedAt = Date.now();
    await waitFor(async () => (await ticks()).filter((t) => t > resumedAt).length >= 2, { what: 'ticks after resume', timeoutMs: 10_000, intervalMs: 100 });

    // Either process alone goes on with the schedule it learned of.
    await apps[0].kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => (await ticks()).filter((t) => t > killedAt + 1_000).length >= 2, { what: 'ticks after a process is gone', timeoutMs: 10_000 });
    await client.schedules.delete('every-second');
    const all = await ticks();
    expect(new Set(all).size).toBe(all.length);
  }, 120_000);
});
