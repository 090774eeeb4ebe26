import { Injectable, type INestApplication, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DbosConflictError, DbosContext, DbosInvalidArgumentError, DbosNotFoundError, ScheduleClient, Step, Workflow, WorkflowClient } from '../../lib';
import { run } from '../../lib/cli/cli.runner';
import { DBOS_CLOCK } from '../../lib/dbos.constants';
import { DbosTestingModule, DbosTestKit } from '../../lib/testing';
import type { TestClock } from '../../lib/testing/test.clock';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, uniqueSchema } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

@Injectable()
class Reports {
  static runs: { id: string; scheduled: number; region: string }[] = [];

  constructor(private readonly dbos: DbosContext) {}

  @Step() async note(scheduledTime: Date, region: string): Promise<void> {
    Reports.runs.push({ id: this.dbos.workflowId!, scheduled: scheduledTime.getTime(), region });
  }

  @Workflow() async daily(scheduledTime: Date, region: string): Promise<string> {
    await this.note(scheduledTime, region);
    return `${region}@${scheduledTime.toISOString()}`;
  }
}

/** A scheduled workflow that holds until the test opens its gate, counting how many run at once. */
@Injectable()
class Held {
  static active = 0;
  static maxActive = 0;
  static open?: () => void;
  static gate = new Promise<void>((resolve) => (Held.open = resolve));

  @Workflow() async hold(scheduledTime: Date): Promise<number> {
    Held.maxActive = Math.max(Held.maxActive, ++Held.active);
    try {
      await Held.gate;
    } finally {
      Held.active--;
    }
    return scheduledTime.getTime();
  }
}

const runsOf = (name: string) => Reports.runs.filter((r) => r.id.startsWith(`schedule:${name}:`));

describe('ScheduleClient (one process)', () => {
  const schema = uniqueSchema('schedules');
  let app: INestApplicationContext;
  let schedules: ScheduleClient;
  let client: WorkflowClient;

  beforeAll(async () => {
    app = await createDbosApp([Reports, Held], { schema, queues: [{ name: 'one-at-a-time', concurrency: 1 }] });
    schedules = app.get(ScheduleClient);
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    Held.open!();
    await app.close();
    await dropSchema(schema);
  });

  it('create, get, list, update, pause, resume and delete a schedule', async () => {
    const created = await schedules.create({ name: 'crud', cron: '0 3 * * *', timezone: 'Europe/Paris', workflowName: 'Reports.daily', args: ['eu'] });
    expect(created).toMatchObject({ name: 'crud', cron: '0 3 * * *', timezone: 'Europe/Paris', args: ['eu'], overlap: 'allow', paused: false, queue: null });
    expect(created.nextTick!.getTime()).toBeGreaterThan(Date.now());
    const updated = await schedules.update('crud', { cron: '30 4 * * *', overlap: 'skip' });
    expect(updated).toMatchObject({ cron: '30 4 * * *', overlap: 'skip', timezone: 'Europe/Paris', args: ['eu'] });
    await schedules.pause('crud');
    expect(await schedules.get('crud')).toMatchObject({ paused: true, nextTick: null });
    // An update, and an upsert without `paused` (an app's start), leave an operator's pause as it is.
    expect(await schedules.update('crud', { args: ['eu', 2] })).toMatchObject({ paused: true, args: ['eu', 2] });
    const upserted = await schedules.create({ name: 'crud', cron: '0 5 * * *', workflowName: 'Reports.daily', upsert: true });
    expect(upserted).toMatchObject({ paused: true, cron: '0 5 * * *', timezone: 'UTC', args: [], overlap: 'allow' });
    expect(await schedules.create({ name: 'crud', cron: '0 5 * * *', workflowName: 'Reports.daily', upsert: true, paused: false })).toMatchObject({
      paused: false,
    });
    await schedules.pause('crud');
    await schedules.resume('crud');
    expect((await schedules.list()).map((s) => [s.name, s.paused])).toContainEqual(['crud', false]);
    await schedules.delete('crud');
    expect(await schedules.get('crud')).toBeNull();
  });

  it('says what is wrong: invalid cron or time zone, unknown name, existing name (unless upsert)', async () => {
    const base = { name: 'errors', cron: '* * * * *', workflowName: 'Reports.daily' };
    await expect(schedules.create({ ...base, cron: 'every tuesday' })).rejects.toThrow(DbosInvalidArgumentError);
    await expect(schedules.create({ ...base, cron: 'every tuesday' })).rejects.toThrow(/"every tuesday"/);
    await expect(schedules.create({ ...base, timezone: 'Mars/Olympus' })).rejects.toThrow(/unknown time zone "Mars\/Olympus"/);
    await expect(schedules.create({ ...base, name: 'a:b' })).rejects.toThrow(DbosInvalidArgumentError);
    await expect(schedules.create({ ...base, overlap: 'never' as never })).rejects.toThrow(/overlap "never" is not a policy/);
    for (const call of [
      () => schedules.update('nope', { cron: '* * * * *' }),
      () => schedules.pause('nope'),
      () => schedules.resume('nope'),
      () => schedules.delete('nope'),
      () => schedules.trigger('nope'),
      () => schedules.backfill('nope', new Date(0), new Date(1)),
    ]) {
      await expect(call()).rejects.toThrow(DbosNotFoundError);
    }
    await schedules.create({ ...base, paused: true });
    await expect(schedules.create(base)).rejects.toThrow(DbosConflictError);
    const replaced = await schedules.create({ ...base, cron: '*/5 * * * *', upsert: true });
    expect(replaced).toMatchObject({ cron: '*/5 * * * *', paused: true });
    await expect(schedules.update('errors', { cron: 'nope' })).rejects.toThrow(DbosInvalidArgumentError);
    await schedules.delete('errors');
  });

  it('a runtime schedule starts its workflow by name once per tick with (scheduledTime, ...args); paused it starts none; resumed it goes on', async () => {
    await schedules.create({ name: 'every-second', cron: '* * * * * *', workflowName: 'Reports.daily', args: ['us'] });
    await waitFor(() => runsOf('every-second').length >= 3, { what: 'three ticks', timeoutMs: 10_000 });
    const first = runsOf('every-second')[0];
    expect(first.region).toBe('us');
    expect(first.scheduled % 1000).toBe(0);
    expect(first.id).toBe(`schedule:every-second:${new Date(first.scheduled).toISOString()}`);
    await expect(client.retrieve(first.id).getResult()).resolves.toBe(`us@${new Date(first.scheduled).toISOString()}`);

    await schedules.pause('every-second');
    const pausedAt = Date.now();
    await waitFor(async () => (await client.list({ workflowName: 'Reports.daily', status: ['ENQUEUED', 'PENDING'] })).length === 0);
    const countPaused = runsOf('every-second').length;
    await quietPeriod(2_500, 'a tick of the paused schedule would start');
    expect(runsOf('every-second').length).toBe(countPaused);
    expect(runsOf('every-second').every((r) => r.scheduled <= pausedAt)).toBe(true);

    await schedules.resume('every-second');
    await waitFor(() => runsOf('every-second').some((r) => r.scheduled > pausedAt + 2_500), { what: 'a tick after resume', timeoutMs: 5_000 });
    await schedules.delete('every-second');
    const ticks = runsOf('every-second').map((r) => r.scheduled);
    expect(new Set(ticks).size).toBe(ticks.length);
  });

  it('an update or a delete made by another client reaches the app at once: the new cron ticks, a deleted schedule stops', async () => {
    const other = await WorkflowClient.connect({ database: { url: databaseUrl() }, schema });
    try {
      await schedules.create({ name: 'retimed', cron: '0 0 1 1 *', workflowName: 'Reports.daily', args: ['re'] });
      const updated = Date.now();
      await other.schedules.update('retimed', { cron: '* * * * * *', args: ['timed'] });
      await waitFor(() => runsOf('retimed').length >= 1, { what: 'a tick of the new cron', timeoutMs: 5_000 });
      expect(runsOf('retimed')[0]).toMatchObject({ region: 'timed' });
      expect(runsOf('retimed')[0].scheduled - updated).toBeLessThan(3_000);
      await other.schedules.delete('retimed');
      const deletedAt = Date.now();
      await quietPeriod(2_000, 'a tick of the deleted schedule would start');
      expect(runsOf('retimed').every((r) => r.scheduled <= deletedAt)).toBe(true);
    } finally {
      await other.close();
    }
  });

  it("a schedule's queue is applied: its ticks start on that queue and keep to the queue's concurrency", async () => {
    await schedules.create({ name: 'queued', cron: '* * * * * *', workflowName: 'Held.hold', queue: 'one-at-a-time' });
    const ofQueued = () => client.list({ workflowIdPrefix: 'schedule:queued:' });
    // Three ticks while the first still holds: one runs, the others wait their turn on the queue.
    await waitFor(async () => (await ofQueued()).length >= 3, { what: 'three ticks of the queued schedule', timeoutMs: 10_000 });
    await schedules.pause('queued');
    const held = await ofQueued();
    expect(held.every((w) => w.queue === 'one-at-a-time')).toBe(true);
    expect(held.filter((w) => w.status === 'PENDING')).toHaveLength(1);
    expect(held.filter((w) => w.status === 'ENQUEUED').length).toBe(held.length - 1);
    expect(Held.active).toBe(1);

    Held.open!();
    await waitFor(async () => (await ofQueued()).every((w) => w.status === 'SUCCESS'), { what: 'every tick to finish', timeoutMs: 10_000 });
    expect(Held.maxActive).toBe(1);
    await schedules.delete('queued');
  });

  it('trigger starts one run now, outside the cron (also while paused)', async () => {
    await schedules.create({ name: 'manual', cron: '0 0 1 1 *', workflowName: 'Reports.daily', args: ['apac'], paused: true });
    const before = Date.now();
    const workflowId = await schedules.trigger('manual');
    expect(workflowId).toMatch(/^schedule:manual:trigger:/);
    const result = await client.retrieve<string>(workflowId).getResult({ timeoutMs: 10_000 });
    expect(result.startsWith('apac@')).toBe(true);
    expect(runsOf('manual')).toHaveLength(1);
    expect(runsOf('manual')[0].scheduled).toBeGreaterThanOrEqual(before);
  });

  it('backfill starts exactly the ticks of the range without a workflow, and a second call starts nothing', async () => {
    await schedules.create({ name: 'hourly', cron: '0 * * * *', workflowName: 'Reports.daily', args: ['eu'], paused: true });
    const hour = 3_600_000;
    const base = Math.floor(Date.now() / hour) * hour - 10 * hour;
    // One tick of the range has run already, as if by the schedule.
    const ran = await schedules.backfill('hourly', new Date(base + 2 * hour), new Date(base + 2 * hour));
    expect(ran.started).toEqual([`schedule:hourly:${new Date(base + 2 * hour).toISOString()}`]);

    const result = await schedules.backfill('hourly', new Date(base), new Date(base + 4 * hour + 1));
    const expected = [0, 1, 3, 4].map((h) => `schedule:hourly:${new Date(base + h * hour).toISOString()}`);
    expect(result).toEqual({ started: expected, existing: 1 });
    await waitFor(() => runsOf('hourly').length === 5, { what: 'the five backfilled runs' });
    expect(
      runsOf('hourly')
        .map((r) => r.scheduled)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4].map((h) => base + h * hour));

    expect(await schedules.backfill('hourly', new Date(base), new Date(base + 4 * hour + 1))).toEqual({ started: [], existing: 5 });
    await quietPeriod(300, 'a sixth run would start');
    expect(runsOf('hourly')).toHaveLength(5);
    await expect(schedules.backfill('hourly', new Date(base + hour), new Date(base))).rejects.toThrow(DbosInvalidArgumentError);
  });

  it('the standalone client manages the same schedules as client.schedules, and its trigger runs in the app', async () => {
    const standalone = await WorkflowClient.connect({ database: { url: databaseUrl() }, schema });
    try {
      await standalone.schedules.create({ name: 'from-outside', cron: '0 0 1 1 *', workflowName: 'Reports.daily', args: ['sa'] });
      expect((await schedules.get('from-outside'))?.args).toEqual(['sa']);
      const workflowId = await standalone.schedules.trigger('from-outside');
      await expect(standalone.retrieve<string>(workflowId).getResult({ timeoutMs: 10_000 })).resolves.toMatch(/^sa@/);
      await standalone.schedules.delete('from-outside');
      expect(await client.schedules.get('from-outside')).toBeNull();
    } finally {
      await standalone.close();
    }
  });

  it('the CLI lists, pauses, resumes, triggers and backfills schedules', async () => {
    const cli = async (...argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const env = { ...process.env, DATABASE_URL: databaseUrl(), NO_COLOR: '1' };
      const code = await run([...argv, '--schema', schema], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
      return { code, stdout, stderr };
    };
    await schedules.create({ name: 'cli-daily', cron: '0 6 * * *', workflowName: 'Reports.daily', args: ['cli'], overlap: 'buffer-one' });
    const table = await cli('schedules', 'list');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/cli-daily\s+0 6 \* \* \*\s+UTC\s+Reports\.daily\s+buffer-one\s+active/);

    expect((await cli('schedules', 'pause', 'cli-daily')).stdout).toBe('Paused schedule "cli-daily"\n');
    expect((await schedules.get('cli-daily'))!.paused).toBe(true);
    const listed = JSON.parse((await cli('schedules', 'list', '--json')).stdout) as { name: string; paused: boolean }[];
    expect(listed.find((s) => s.name === 'cli-daily')).toMatchObject({ paused: true });
    expect((await cli('schedules', 'resume', 'cli-daily')).code).toBe(0);
    expect((await schedules.get('cli-daily'))!.paused).toBe(false);

    const triggered = await cli('schedules', 'trigger', 'cli-daily');
    await expect(client.retrieve<string>(triggered.stdout.trim()).getResult({ timeoutMs: 10_000 })).resolves.toMatch(/^cli@/);

    const backfilled = await cli('schedules', 'backfill', 'cli-daily', '--from', '3d', '--json');
    expect((JSON.parse(backfilled.stdout) as { started: string[] }).started.length).toBeGreaterThanOrEqual(2);
    const again = await cli('schedules', 'backfill', 'cli-daily', '--from', '3d');
    expect(again.stdout).toMatch(/^Started 0 tick\(s\); \d+ of the range had a workflow already\.$/m);

    const missing = await cli('schedules', 'pause', 'nope');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('No schedule is named "nope"');
  });
});

describe('runtime schedules without LISTEN (behind a transaction pooler, no listenUrl)', () => {
  const schema = uniqueSchema('schedpoll');
  let app: INestApplicationContext;

  beforeAll(async () => {
    app = await createDbosApp([Reports], { schema, database: { url: databaseUrl(), pooler: 'transaction' } });
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  it('a schedule created elsewhere is picked up by polling, and its pause too', async () => {
    const standalone = await WorkflowClient.connect({ database: { url: databaseUrl() }, schema });
    try {
      const created = Date.now();
      await standalone.schedules.create({ name: 'polled', cron: '* * * * * *', workflowName: 'Reports.daily', args: ['poll'] });
      // The safety re-read comes every 10 s; the poll of a process without LISTEN every 0.5 s.
      await waitFor(() => runsOf('polled').length >= 1, { what: 'a tick heard of by polling', timeoutMs: 5_000 });
      expect(runsOf('polled')[0].scheduled - created).toBeLessThan(4_000);
      await standalone.schedules.pause('polled');
      const pausedAt = Date.now();
      await quietPeriod(2_000, 'a tick after the pause would start');
      expect(runsOf('polled').every((r) => r.scheduled <= pausedAt)).toBe(true);
    } finally {
      await standalone.close();
    }
  });
});

describe('a runtime schedule with a time zone, on the testing module clock', () => {
  const MINUTE = 60_000;
  const DAY = 24 * 60 * MINUTE;
  let app: INestApplication;
  let kit: DbosTestKit;
  let clock: TestClock;
  let schedules: ScheduleClient;
  let client: WorkflowClient;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [DbosTestingModule.forRoot()], providers: [Reports] }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
    kit = app.get(DbosTestKit);
    clock = app.get<TestClock>(DBOS_CLOCK);
    schedules = app.get(ScheduleClient);
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app?.close();
  });

  it("ticks at the cron's time in its zone: 03:00 in Kathmandu (UTC+05:45, no daylight saving) is 21:15 UTC", async () => {
    // The next 21:15:00 UTC after now, computed without the cron library (and not in the next seconds, which the test steps over).
    const next2115 = (now: number) => {
      const today = Math.floor(now / DAY) * DAY + 21 * 60 * MINUTE + 15 * MINUTE;
      return today > now ? today : today + DAY;
    };
    if (next2115(kit.now()) - kit.now() < 10_000) await kit.advanceTime('20s');
    const expected = next2115(kit.now());
    await schedules.create({ name: 'kathmandu', cron: '0 3 * * *', timezone: 'Asia/Kathmandu', workflowName: 'Reports.daily', args: ['np'] });
    expect((await schedules.get('kathmandu'))!.nextTick!.getTime()).toBe(expected);
    // The app's runner has armed the tick on the module clock (it hears of the schedule by NOTIFY).
    await waitFor(() => clock.nextDue(expected)?.at === expected, { what: 'the tick armed on the module clock' });

    const ticks = async () => (await client.list({ workflowIdPrefix: 'schedule:kathmandu:' })).map((w) => w.workflowId).sort();
    await kit.advanceTime(expected - kit.now() - 1_000);
    expect(await ticks()).toEqual([]);
    await kit.advanceTime('2s');
    await waitFor(async () => (await ticks()).length === 1, { what: 'the tick at 21:15 UTC' });
    expect(await ticks()).toEqual([`schedule:kathmandu:${new Date(expected).toISOString()}`]);
    // A whole day more: the next tick is the next 21:15 UTC, and none came at 03:00 UTC in between.
    await kit.advanceTime('1d');
    await waitFor(async () => (await ticks()).length >= 2, { what: "the next day's tick" });
    expect(await ticks()).toEqual([expected, expected + DAY].map((t) => `schedule:kathmandu:${new Date(t).toISOString()}`));
    await expect(client.retrieve<string>(`schedule:kathmandu:${new Date(expected).toISOString()}`).getResult({ timeoutMs: 10_000 })).resolves.toBe(
      `np@${new Date(expected).toISOString()}`,
    );
    await schedules.delete('kathmandu');
  });
});
