import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DbosConfigurationError, DbosModule, Scheduled, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { ChildApp } from '../support/child-app';
import { dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

describe('@Scheduled across two processes', () => {
  const schema = uniqueSchema('cron');
  const apps: ChildApp[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.kill('SIGKILL')));
    await dropSchema(schema);
  });

  it('a */1 * * * * * schedule run by two processes for 5 seconds yields one workflow per tick', async () => {
    await sql(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await sql(`CREATE TABLE "${schema}".ticks (scheduled_at timestamptz NOT NULL, executor text NOT NULL)`);
    const a = ChildApp.start('scheduler-app.ts', { DBOS_SCHEMA: schema, EXECUTOR_ID: 'cron-a' });
    apps.push(a);
    await a.waitForOutput(/READY/, 60_000);
    // A tick goes to the process whose insert of the tick's workflow id commits first (the other's
    // insert conflicts and writes nothing), so which process runs it is a race one process may win
    // every time. What shows both compete is their attempts: a BEFORE INSERT trigger sees the
    // loser's insert too, with the executor it named.
    await sql(`CREATE TABLE "${schema}".tick_attempts (workflow_id text NOT NULL, executor text NOT NULL)`);
    await sql(`CREATE FUNCTION "${schema}".note_tick_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO "${schema}".tick_attempts VALUES (NEW.workflow_id, NEW.executor_id); RETURN NEW; END $$`);
    await sql(`CREATE TRIGGER note_tick_attempt BEFORE INSERT ON "${schema}".workflow_status FOR EACH ROW EXECUTE FUNCTION "${schema}".note_tick_attempt()`);
    const b = ChildApp.start('scheduler-app.ts', { DBOS_SCHEMA: schema, EXECUTOR_ID: 'cron-b' });
    apps.push(b);
    await b.waitForOutput(/READY/, 60_000);
    const bothUp = Date.now();
    // Both run the schedule for 5 s on purpose: the window whose every tick is checked below.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const stoppedAt = Date.now();
    await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')]);

    const ticks = (await sql<{ t: Date }>(`SELECT scheduled_at AS t FROM "${schema}".ticks ORDER BY 1`)).map((r) => new Date(r.t).getTime());
    expect(new Set(ticks).size).toBe(ticks.length); // no duplicates
    // No gaps while both were up: every whole second in the window has its tick.
    const first = Math.ceil((bothUp + 1_000) / 1_000) * 1_000;
    const last = Math.floor((stoppedAt - 1_000) / 1_000) * 1_000;
    const expected = [];
    for (let t = first; t <= last; t += 1_000) expected.push(t);
    expect(expected.length).toBeGreaterThanOrEqual(3);
    expect(ticks.filter((t) => t >= first && t <= last)).toEqual(expected);
    // One workflow per tick: each that finished recorded its tick. A tick whose workflow was starting
    // as the SIGTERM came is left PENDING for the next start (no new step once shutdown begins).
    const workflows = await sql<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM "${schema}".workflow_status WHERE workflow_name = 'Ticker.everySecond' GROUP BY 1`,
    );
    const byStatus = Object.fromEntries(workflows.map((w) => [w.status, w.n]));
    expect(byStatus.SUCCESS).toBe(ticks.length);
    expect(Object.keys(byStatus).filter((s) => s !== 'SUCCESS' && s !== 'PENDING')).toEqual([]);
    expect(byStatus.PENDING ?? 0).toBeLessThanOrEqual(2);
    // Both processes tried to start every tick of the window, and one of them started it.
    const attempts = await sql<{ id: string; executors: string[] }>(
      `SELECT workflow_id AS id, array_agg(executor ORDER BY executor) AS executors FROM "${schema}".tick_attempts GROUP BY 1`,
    );
    const attemptsAt = new Map(attempts.map((r) => [r.id, r.executors]));
    for (const t of expected) expect([t, attemptsAt.get(`sched-Ticker.everySecond-${new Date(t).toISOString()}`)]).toEqual([t, ['cron-a', 'cron-b']]);
  }, 120_000);
});

@Injectable()
class Reports {
  static ran: string[] = [];

  @Scheduled('0 0 * * * *', { catchUp: true })
  async hourly(scheduledTime: Date): Promise<void> {
    Reports.ran.push(`hourly ${scheduledTime.toISOString()}`);
  }

  @Scheduled('0 30 * * * *', { name: 'reports.halfPast' })
  async halfPast(scheduledTime: Date): Promise<void> {
    Reports.ran.push(`halfPast ${scheduledTime.toISOString()}`);
  }
}

@Injectable()
class BadCron {
  @Scheduled('every tuesday') async never(): Promise<void> {}
}

describe('@Scheduled catch-up and validation', () => {
  const schema = uniqueSchema('catchup');
  let app: INestApplicationContext | undefined;
  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
  });

  it('with catchUp, ticks missed while no process ran are started after a restart; without it they are skipped', async () => {
    app = await createDbosApp([Reports], { schema });
    await app.close();
    const hour = 3_600_000;
    const lastHour = Math.floor(Date.now() / hour) * hour;
    // As if the last process stopped 3 hours ago, right after starting both schedules' ticks.
    await sql(`INSERT INTO "${schema}".scheduler_state (workflow_name, last_tick) VALUES ($1, $2), ($3, $4)`, [
      'Reports.hourly',
      lastHour - 3 * hour,
      'reports.halfPast',
      lastHour - 3 * hour + hour / 2,
    ]);
    Reports.ran = [];
    app = await createDbosApp([Reports], { schema });
    const client = app.get(WorkflowClient);
    const expected = [2, 1, 0].map((h) => `hourly ${new Date(lastHour - h * hour).toISOString()}`);
    await waitFor(() => Reports.ran.length >= 3);
    await quietPeriod(200, 'a fourth hourly or a skipped half-past tick started late would show now');
    expect(Reports.ran.filter((r) => r.startsWith('hourly')).sort()).toEqual(expected);
    expect(Reports.ran.filter((r) => r.startsWith('halfPast'))).toEqual([]);
    const ids = (await client.list({ workflowName: 'Reports.hourly' })).map((w) => w.workflowId).sort();
    expect(ids).toEqual(expected.map((e) => `sched-Reports.hourly-${e.slice('hourly '.length)}`));
  });

  it('an invalid cron expression is a startup error that quotes it', async () => {
    @Module({ imports: [DbosModule.forRoot({ database: databaseOptions(), schema })], providers: [BadCron] })
    class BadModule {}
    const moduleRef = await Test.createTestingModule({ imports: [BadModule] }).compile();
    const error = await moduleRef
      .createNestApplication({ logger: false })
      .init()
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(DbosConfigurationError);
    expect((error as Error).message).toContain('"every tuesday"');
    await moduleRef.close();
  });
});
