import { Body, Controller, Get, HttpCode, Injectable, Module, NotFoundException, Param, Post, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { App } from 'supertest/types';
import { DbosContext, DbosNondeterminismError, DbosTimeoutError, Scheduled, Step, Workflow, WorkflowClient } from 'nestjs-dbos';
import { DbosTestingModule, DbosTestKit } from 'nestjs-dbos/testing';
import { DBOS_RESOLVED_OPTIONS } from '../../lib/dbos.constants';
import { sql } from '../support/database';

const schemaOf = (app: INestApplication) => app.get<{ schema: string }>(DBOS_RESOLVED_OPTIONS, { strict: false }).schema;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** What the steps did, in order: the side effects a crash must not repeat once checkpointed. */
const effects: string[] = [];
/** Called inside step `n` of `fulfil` (or right after it, when the key is `after:n`) on its first run, to crash there. */
const hooks = new Map<string, () => void>();

@Injectable()
class OnboardingService {
  constructor(private readonly dbos: DbosContext) {}

  @Step()
  async sendEmail(to: string, kind: string): Promise<string> {
    effects.push(`${kind}:${to}`);
    return `${kind}-sent`;
  }

  /** Welcome now, a reminder three days later. */
  @Workflow()
  async onboard(email: string): Promise<string[]> {
    const welcome = await this.sendEmail(email, 'welcome');
    await this.dbos.sleep(3 * DAY);
    return [welcome, await this.sendEmail(email, 'reminder')];
  }

  /** Waits an hour for a confirmation message. */
  @Workflow()
  async awaitConfirmation(): Promise<string> {
    const confirmation = await this.dbos.recv<string>('confirm', { timeoutMs: HOUR });
    return confirmation ?? 'expired';
  }

  /** Waits 30 minutes for another workflow's event. */
  @Workflow()
  async awaitEvent(otherId: string): Promise<string> {
    return (await this.dbos.getEvent<string>(otherId, 'ready', { timeoutMs: 30 * 60_000 })) ?? 'no event';
  }

  /** Sleeps a day: with a deadline of two hours it never finishes. */
  @Workflow()
  async slowReport(): Promise<string> {
    await this.dbos.sleep(DAY);
    return 'report';
  }

  @Workflow()
  async sendDigest(to: string): Promise<string> {
    return this.sendEmail(to, 'digest');
  }

  @Scheduled('0 3 * * *')
  async nightly(scheduledTime: Date): Promise<void> {
    effects.push(`nightly:${scheduledTime.toISOString()}`);
  }
}

@Injectable()
class FulfilmentService {
  gate?: Promise<void>;
  /** A deploy that renamed the second step. */
  renamed = false;

  constructor(private readonly dbos: DbosContext) {}

  @Step()
  async step(n: number, orderId: string): Promise<number> {
    effects.push(`step${n}:${orderId}`);
    hooks.get(`${orderId}:${n}`)?.();
    hooks.delete(`${orderId}:${n}`);
    if (this.gate && n === 0) await this.gate;
    return n;
  }

  @Step()
  async renamedStep(n: number, orderId: string): Promise<number> {
    return this.step(n, orderId);
  }

  /** Three steps and a day's wait between the second and the third. */
  @Workflow()
  async fulfil(orderId: string): Promise<number> {
    let total = 0;
    for (let n = 0; n < 3; n++) {
      total += this.renamed && n === 1 ? await this.renamedStep(n, orderId) : await this.step(n, orderId);
      hooks.get(`${orderId}:after:${n}`)?.();
      hooks.delete(`${orderId}:after:${n}`);
      if (n === 1) await this.dbos.sleep(DAY);
    }
    return total;
  }
}

@Controller()
class OnboardingController {
  constructor(private readonly client: WorkflowClient) {}

  @Post('signups')
  @HttpCode(202)
  async signUp(@Body() body: { email: string }): Promise<{ workflowId: string }> {
    const handle = await this.client.start(OnboardingService).onboard(body.email);
    return { workflowId: handle.workflowId };
  }

  @Get('workflows/:id')
  async status(@Param('id') id: string): Promise<{ status: string; output?: unknown }> {
    const status = await this.client.getStatus(id);
    if (!status) throw new NotFoundException();
    return { status: status.status, output: status.status === 'SUCCESS' ? await this.client.retrieve(id).getResult() : undefined };
  }
}

@Module({ providers: [OnboardingService, FulfilmentService], controllers: [OnboardingController] })
class OnboardingModule {}

describe('nestjs-dbos/testing: a Nest e2e test of durable workflows', () => {
  let app: INestApplication;
  let http: App;
  let kit: DbosTestKit;
  let client: WorkflowClient;
  let schema: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DbosTestingModule.forRoot({ queues: [{ name: 'mail' }] }), OnboardingModule],
    }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
    http = app.getHttpServer();
    kit = app.get(DbosTestKit);
    client = app.get(WorkflowClient);
    schema = schemaOf(app);
  });

  afterAll(async () => {
    await app?.close();
  });

  beforeEach(() => {
    effects.length = 0;
    hooks.clear();
  });

  /** The app's own effects: the module's nightly cron ticks whenever the moved clock passes 03:00, which depends on the hour the suite runs. */
  const appEffects = () => effects.filter((e) => !e.startsWith('nightly:'));
  const statusOf = async (id: string) => (await request(http).get(`/workflows/${id}`).expect(200)).body as { status: string; output?: unknown };

  it('a sleep of three days finishes in milliseconds of test time, and its recorded deadline stays what it was', async () => {
    const started = Date.now();
    const clockAtStart = kit.now();
    const { workflowId } = (await request(http).post('/signups').send({ email: 'ada@example.com' }).expect(202)).body as { workflowId: string };
    await kit.runUntilIdle();
    expect(await statusOf(workflowId)).toEqual({ status: 'PENDING' });
    expect(appEffects()).toEqual(['welcome:ada@example.com']);

    await kit.advanceTime('2d');
    expect((await statusOf(workflowId)).status).toBe('PENDING');
    await kit.advanceTime('1d');
    expect(await statusOf(workflowId)).toEqual({ status: 'SUCCESS', output: ['welcome-sent', 'reminder-sent'] });
    // (The nightly cron of the same module ticked three times meanwhile.)
    expect(appEffects()).toEqual(['welcome:ada@example.com', 'reminder:ada@example.com']);
    expect(Date.now() - started).toBeLessThan(5_000);

    const steps = await client.listSteps(workflowId);
    const sleep = steps.find((s) => s.name === 'DBOS.sleep')!;
    expect(sleep.output as number).toBeGreaterThanOrEqual(clockAtStart + 3 * DAY);
    expect(sleep.output as number).toBeLessThan(clockAtStart + 3 * DAY + 5_000);
  });

  it('recv times out when the clock passes its hour, and a message before that is received', async () => {
    const expiring = await client.start(OnboardingService).awaitConfirmation();
    const confirmed = await client.start(OnboardingService).awaitConfirmation();
    await kit.runUntilIdle();
    await kit.advanceTime('59m');
    expect((await expiring.getStatus())!.status).toBe('PENDING');
    await client.send(confirmed.workflowId, 'yes', 'confirm');
    await kit.runUntilIdle();
    expect(await confirmed.getResult()).toBe('yes');
    expect((await expiring.getStatus())!.status).toBe('PENDING');
    await kit.advanceTime('1m');
    expect(await expiring.getResult()).toBe('expired');
  });

  it('getEvent times out at its deadline on the module clock', async () => {
    const waiting = await client.start(OnboardingService).awaitEvent('nobody');
    await kit.advanceTime('29m');
    expect((await waiting.getStatus())!.status).toBe('PENDING');
    await kit.advanceTime('1m');
    expect(await waiting.getResult()).toBe('no event');
  });

  it('a workflow deadline (timeoutMs) cancels it when the clock reaches it', async () => {
    const report = await client.start(OnboardingService, { timeoutMs: 2 * HOUR }).slowReport();
    const deadline = Number(
      (await sql<{ deadline: string }>(`SELECT deadline FROM "${schema}".workflow_status WHERE workflow_id = $1`, [report.workflowId]))[0].deadline,
    );
    await kit.advanceTime('119m');
    expect((await report.getStatus())!.status).toBe('PENDING');
    await kit.advanceTime('1m');
    expect((await report.getStatus())!.status).toBe('CANCELLED');
    await expect(report.getResult()).rejects.toBeInstanceOf(DbosTimeoutError);
    const after = await sql<{ deadline: string }>(`SELECT deadline FROM "${schema}".workflow_status WHERE workflow_id = $1`, [report.workflowId]);
    expect(Number(after[0].deadline)).toBe(deadline);
  });

  it('a queued workflow delayed ten minutes starts when the clock reaches its delay', async () => {
    const digest = await client.start(OnboardingService, { queue: 'mail', delayMs: 10 * 60_000 }).sendDigest('bob@example.com');
    await kit.advanceTime('9m');
    expect((await digest.getStatus())!.status).toBe('ENQUEUED');
    expect(appEffects()).toEqual([]);
    await kit.advanceTime('1m');
    expect((await digest.getStatus())!.status).toBe('SUCCESS');
    expect(appEffects()).toEqual(['digest:bob@example.com']);
  });

  it('client.setDelay is on the module clock too: the new delay passes with advanceTime', async () => {
    const digest = await client.start(OnboardingService, { queue: 'mail', delayMs: 10 * 60_000 }).sendDigest('carol@example.com');
    await client.setDelay(digest.workflowId, 60 * 60_000);
    await kit.advanceTime('59m');
    expect((await digest.getStatus())!.status).toBe('ENQUEUED');
    await kit.advanceTime('1m');
    expect((await digest.getStatus())!.status).toBe('SUCCESS');
    expect(effects).toContain('digest:carol@example.com');
  });

  it('cron ticks fire once each, in order, as the clock passes them', async () => {
    await kit.advanceTime('2d');
    const ticks = effects.filter((e) => e.startsWith('nightly:'));
    expect(ticks).toHaveLength(2);
    for (const tick of ticks) expect(tick).toMatch(/T03:00:00\.000Z$/);
    expect(new Date(ticks[1].slice(8)).getTime() - new Date(ticks[0].slice(8)).getTime()).toBe(DAY);
  });

  describe('crash()', () => {
    const countOf = (effect: string) => effects.filter((e) => e === effect).length;

    it.each([0, 1, 2])('during step %i: the steps checkpointed before it run once, the interrupted one again, and the workflow finishes once', async (n) => {
      const orderId = `crash-in-${n}`;
      let crashed: Promise<void> | undefined;
      hooks.set(`${orderId}:${n}`, () => (crashed = kit.crash()));
      const handle = await client.start(FulfilmentService, { workflowId: orderId }).fulfil(orderId);
      await kit.runUntilIdle();
      await kit.advanceTime('1d');
      await crashed;
      await kit.runUntilIdle();
      await kit.advanceTime('1d');
      expect(await handle.getResult()).toBe(3);
      for (let step = 0; step < 3; step++) expect(countOf(`step${step}:${orderId}`)).toBe(step === n ? 2 : 1);
      expect((await client.getStatus(orderId))!.recoveryAttempts).toBeGreaterThanOrEqual(1);
    });

    it('while it sleeps: recovered from its checkpoints, it wakes at the recorded deadline and no step runs twice', async () => {
      const orderId = 'crash-asleep';
      const handle = await client.start(FulfilmentService, { workflowId: orderId }).fulfil(orderId);
      await kit.runUntilIdle();
      await kit.crash();
      await kit.runUntilIdle();
      expect((await handle.getStatus())!.status).toBe('PENDING');
      await kit.advanceTime('1d');
      expect(await handle.getResult()).toBe(3);
      for (let step = 0; step < 3; step++) expect(countOf(`step${step}:${orderId}`)).toBe(1);
    });

    it('right after a step returns: its held-back checkpoint is lost as in a crash, so that step runs again', async () => {
      const orderId = 'crash-after-0';
      hooks.set(`${orderId}:after:0`, () => void kit.crash());
      const handle = await client.start(FulfilmentService, { workflowId: orderId }).fulfil(orderId);
      await kit.runUntilIdle();
      await kit.advanceTime('1d');
      expect(await handle.getResult()).toBe(3);
      expect([0, 1, 2].map((step) => countOf(`step${step}:${orderId}`))).toEqual([2, 1, 1]);
    });
  });

  it('runUntilIdle rejects naming the workflow that is still running at its timeout', async () => {
    let release!: () => void;
    const fulfilment = app.get(FulfilmentService);
    fulfilment.gate = new Promise((resolve) => (release = resolve));
    const stuck = await client.start(FulfilmentService, { workflowId: 'stuck-order' }).fulfil('stuck-order');
    await expect(kit.runUntilIdle({ timeoutMs: 300 })).rejects.toThrow(/runUntilIdle\(\) gave up after 300 ms: still running: stuck-order/);
    fulfilment.gate = undefined;
    release();
    await kit.runUntilIdle();
    await kit.advanceTime('1d');
    expect(await stuck.getResult()).toBe(3);
  });
});

describe('DbosTestKit.replay', () => {
  it('passes on the code that recorded the workflow and names the diverging step once a step is renamed', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [DbosTestingModule.forRoot(), OnboardingModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
    try {
      const kit = app.get(DbosTestKit);
      const client = app.get(WorkflowClient);
      const fulfilment = app.get(FulfilmentService);
      const handle = await client.start(FulfilmentService, { workflowId: 'replayed-order' }).fulfil('replayed-order');
      await kit.runUntilIdle();
      await kit.advanceTime('1d');
      expect(await handle.getResult()).toBe(3);
      effects.length = 0;
      await expect(kit.replay('replayed-order')).resolves.toBeUndefined();
      expect(effects).toEqual([]); // no step ran
      fulfilment.renamed = true;
      const err = (await kit.replay('replayed-order').catch((e: unknown) => e)) as DbosNondeterminismError;
      expect(err).toBeInstanceOf(DbosNondeterminismError);
      expect([err.stepId, err.recordedName, err.calledName]).toEqual([1, 'FulfilmentService.step', 'FulfilmentService.renamedStep']);
    } finally {
      await app.close();
    }
  });
});

describe('DbosTestingModule', () => {
  it('gives each testing module a schema of its own, dropped at app.close(), and starts in well under a second after the first', async () => {
    const times: number[] = [];
    const schemas: string[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const moduleRef = await Test.createTestingModule({ imports: [DbosTestingModule.forRoot(), OnboardingModule] }).compile();
      const app = moduleRef.createNestApplication({ logger: ['error'] });
      await app.init();
      times.push(performance.now() - started);
      const schema = schemaOf(app);
      expect(await sql(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema])).toHaveLength(1);
      schemas.push(schema);
      await app.close();
      expect(await sql(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema])).toEqual([]);
    }
    expect(new Set(schemas).size).toBe(3);
    console.log(`DbosTestingModule start-up: ${times.map((t) => `${Math.round(t)} ms`).join(', ')}`);
    expect(Math.max(...times.slice(1))).toBeLessThan(1_000);
  });
});
