import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, DbosInvalidArgumentError, DbosTimeoutError, Step, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, uniqueSchema } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

/** One attempt of a step, as the step saw it. */
interface SeenAttempt {
  startedAt: number;
  signal: AbortSignal;
  abortedAt?: number;
  /** Settles the attempt late (an attempt that would otherwise never settle). */
  release: (value: string) => void;
}

class CardDeclined extends Error {
  override name = 'CardDeclined';
}

/** A payment gateway whose calls hang (never settle) for the first `hangs` attempts of a test. */
@Injectable()
class Gateway {
  attempts: SeenAttempt[] = [];
  hangs = 0;
  failures: Error[] = [];

  call(signal: AbortSignal): Promise<string> {
    let release!: (value: string) => void;
    const settles = new Promise<string>((resolve) => (release = resolve));
    const seen: SeenAttempt = { startedAt: Date.now(), signal, release };
    signal.addEventListener('abort', () => (seen.abortedAt = Date.now()), { once: true });
    this.attempts.push(seen);
    const failure = this.failures.shift();
    if (failure) return Promise.reject(failure);
    // Ignores its signal on purpose: a hung call the step's code never gives up on.
    if (this.attempts.length <= this.hangs) return settles;
    return Promise.resolve(`paid on attempt ${this.attempts.length}`);
  }
}

const TIMEOUT_MS = 300;

@Injectable()
class Payments {
  retryDecisions: unknown[] = [];

  constructor(
    private readonly dbos: DbosContext,
    readonly gateway: Gateway,
  ) {}

  @Step({ timeoutMs: TIMEOUT_MS, retries: { maxAttempts: 3, intervalMs: 20 } })
  async charge(): Promise<string> {
    return this.gateway.call(this.dbos.abortSignal!);
  }

  @Step({ timeoutMs: TIMEOUT_MS })
  async chargeOnce(): Promise<string> {
    const paid = await this.gateway.call(this.dbos.abortSignal!);
    // Reached only by an attempt released after its deadline: its write must be refused.
    await this.dbos.writeStream('late', paid);
    return paid;
  }

  @Step({
    timeoutMs: TIMEOUT_MS,
    retries: { maxAttempts: 5, intervalMs: 10, retryIf: (err) => !(err instanceof CardDeclined) && !(err instanceof DbosTimeoutError) },
  })
  async chargeSelective(): Promise<string> {
    return this.gateway.call(this.dbos.abortSignal!);
  }

  @Step({ timeoutMs: 60_000, retries: { maxAttempts: 3, intervalMs: 10 } })
  async chargePatiently(): Promise<string> {
    return this.gateway.call(this.dbos.abortSignal!);
  }

  @Workflow()
  async payPatiently(): Promise<string> {
    return this.chargePatiently();
  }

  @Workflow()
  async pay(): Promise<string> {
    return this.charge();
  }

  @Workflow()
  async payOrExplain(): Promise<string> {
    try {
      return await this.charge();
    } catch (err) {
      return `caught ${(err as Error).name}: ${err instanceof DbosTimeoutError}`;
    }
  }

  @Workflow()
  async payOnceThenGoOn(): Promise<string> {
    const outcome = await this.chargeOnce().catch((err: Error) => err.name);
    return `${outcome} then ${await this.dbos.randomUUID().then(() => 'next step')}`;
  }

  @Workflow()
  async paySelectively(): Promise<string> {
    return this.chargeSelective();
  }

  @Workflow()
  async payInline(): Promise<string> {
    return this.dbos.runStep(() => this.gateway.call(this.dbos.abortSignal!), {
      name: 'inlineCharge',
      timeoutMs: TIMEOUT_MS,
      retries: {
        maxAttempts: 3,
        intervalMs: 10,
        retryIf: async (err, attempt) => {
          this.retryDecisions.push([(err as Error).name, attempt]);
          return true;
        },
      },
    });
  }

  @Workflow()
  async badInlineTimeout(): Promise<string> {
    return this.dbos.runStep(async () => 'never', { timeoutMs: -5 });
  }
}

describe('step control: timeoutMs and retries.retryIf', () => {
  const schema = uniqueSchema('stepctl');
  let app: INestApplicationContext;
  let client: WorkflowClient;
  let payments: Payments;
  let gateway: Gateway;

  beforeAll(async () => {
    app = await createDbosApp([Payments, Gateway], { schema, executorId: 'stepctl' });
    client = app.get(WorkflowClient);
    payments = app.get(Payments);
    gateway = app.get(Gateway);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });
  beforeEach(() => {
    gateway.attempts = [];
    gateway.hangs = 0;
    gateway.failures = [];
    payments.retryDecisions = [];
  });

  it('aborts a hung attempt at its deadline and retries it; a later attempt succeeds and is recorded', async () => {
    gateway.hangs = 2;
    const handle = await client.start(Payments).pay();
    await expect(handle.getResult({ timeoutMs: 20_000 })).resolves.toBe('paid on attempt 3');
    expect(gateway.attempts).toHaveLength(3);
    for (const hung of gateway.attempts.slice(0, 2)) {
      // The signal the step saw aborted at the attempt's deadline, with the attempt's DbosTimeoutError.
      expect(hung.signal.aborted).toBe(true);
      expect(hung.signal.reason).toBeInstanceOf(DbosTimeoutError);
      const abortedAfter = hung.abortedAt! - hung.startedAt;
      expect(abortedAfter).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
      expect(abortedAfter).toBeLessThan(TIMEOUT_MS + 2_000);
    }
    expect(gateway.attempts[2].signal.aborted).toBe(false);
    const steps = await client.listSteps(handle.workflowId);
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ name: 'Payments.charge', output: 'paid on attempt 3' });
  });

  it('when every attempt times out, the DbosTimeoutError is the workflow error (or caught by the workflow)', async () => {
    gateway.hangs = 100;
    const failing = await client.start(Payments).pay();
    const error = await failing.getResult({ timeoutMs: 20_000 }).catch((err: Error) => err);
    expect(error).toMatchObject({ name: 'DbosTimeoutError', message: expect.stringMatching(/attempt 3 did not finish within its timeoutMs of 300 ms/) });
    expect(gateway.attempts).toHaveLength(3);
    expect(await failing.getStatus()).toMatchObject({ status: 'ERROR' });
    const [step] = await client.listSteps(failing.workflowId);
    expect(step.error).toMatchObject({ name: 'DbosTimeoutError' });

    gateway.attempts = [];
    const catching = await client.start(Payments).payOrExplain();
    await expect(catching.getResult({ timeoutMs: 20_000 })).resolves.toBe('caught DbosTimeoutError: true');
    expect(gateway.attempts).toHaveLength(3);
  });

  it('never records the late result of an abandoned attempt, nor lets it write to its workflow', async () => {
    gateway.hangs = 1;
    const handle = await client.start(Payments).payOnceThenGoOn();
    await expect(handle.getResult({ timeoutMs: 20_000 })).resolves.toBe('DbosTimeoutError then next step');
    const before = await client.listSteps(handle.workflowId);
    expect(before.map((s) => s.name)).toEqual(['Payments.chargeOnce', 'DBOS.randomUUID']);
    expect(before[0].error).toMatchObject({ name: 'DbosTimeoutError' });
    // The hung call answers now, long after its deadline.
    gateway.attempts[0].release('paid too late');
    await quietPeriod(300, 'a late checkpoint or stream value of the abandoned attempt');
    expect(await client.listSteps(handle.workflowId)).toEqual(before);
    const stream = client.readStream<string>(handle.workflowId, 'late');
    const values: string[] = [];
    for await (const value of stream) values.push(value);
    expect(values).toEqual([]);
  });

  it('retryIf refusing an error fails the step at once, after one attempt', async () => {
    gateway.failures = [new CardDeclined('card declined')];
    const handle = await client.start(Payments).paySelectively();
    await expect(handle.getResult({ timeoutMs: 20_000 })).rejects.toMatchObject({ name: 'CardDeclined', message: 'card declined' });
    expect(gateway.attempts).toHaveLength(1);
  });

  it('retryIf refusing a DbosTimeoutError fails the step at its first deadline', async () => {
    gateway.hangs = 100;
    const handle = await client.start(Payments).paySelectively();
    await expect(handle.getResult({ timeoutMs: 20_000 })).rejects.toMatchObject({ name: 'DbosTimeoutError' });
    expect(gateway.attempts).toHaveLength(1);
  });

  it('retryIf accepting an error retries it', async () => {
    gateway.failures = [new Error('503'), new Error('503')];
    const handle = await client.start(Payments).paySelectively();
    await expect(handle.getResult({ timeoutMs: 20_000 })).resolves.toBe('paid on attempt 3');
    expect(gateway.attempts).toHaveLength(3);
  });

  it('DbosContext.runStep takes the same options: an async retryIf, a deadline per attempt', async () => {
    gateway.hangs = 1;
    gateway.failures = [];
    const handle = await client.start(Payments).payInline();
    await expect(handle.getResult({ timeoutMs: 20_000 })).resolves.toBe('paid on attempt 2');
    expect(payments.retryDecisions).toEqual([['DbosTimeoutError', 1]]);
    expect(gateway.attempts[0].signal.reason).toBeInstanceOf(DbosTimeoutError);
    expect((await client.listSteps(handle.workflowId))[0]).toMatchObject({ name: 'inlineCharge', output: 'paid on attempt 2' });
  });

  it('refuses a timeoutMs that is not a positive number', async () => {
    const handle = await client.start(Payments).badInlineTimeout();
    await expect(handle.getResult({ timeoutMs: 20_000 })).rejects.toThrow(/timeoutMs must be a positive number of milliseconds, got -5/);
    await expect(handle.getResult({ timeoutMs: 20_000 })).rejects.toBeInstanceOf(DbosInvalidArgumentError);
  });

  it('a cancel aborts the signal of a running attempt before its deadline', async () => {
    gateway.hangs = 100;
    const handle = await client.start(Payments).payPatiently();
    await waitFor(() => gateway.attempts.length === 1, { what: 'the first attempt' });
    await client.cancel(handle.workflowId);
    await waitFor(() => gateway.attempts[0].signal.aborted, { what: 'the attempt signal to abort on cancel' });
    expect(gateway.attempts[0].signal.reason).not.toBeInstanceOf(DbosTimeoutError);
    await waitFor(async () => (await handle.getStatus())?.status === 'CANCELLED', { what: 'CANCELLED' });
    await quietPeriod(300, 'a retry after the cancel');
    expect(gateway.attempts).toHaveLength(1);
  });
});
