import { Injectable, type INestApplicationContext, type OnModuleDestroy } from '@nestjs/common';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DbosContext, Step, Transaction, Workflow, WorkflowClient } from '../../lib';
import { serialize } from '../../lib/serialization/value.codec';
import { beginClose, createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

/** A port on 127.0.0.1 with nothing listening: connecting to it is ECONNREFUSED, as with a service that is down. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A stand-in for a client a step uses (HTTP agent, Redis, SMTP) that its module closes on shutdown. */
@Injectable()
class MailClient implements OnModuleDestroy {
  closed = false;

  onModuleDestroy(): void {
    this.closed = true;
  }

  async send(): Promise<void> {
    if (this.closed) throw new Error('mail client is closed');
  }
}

@Injectable()
class Downstream {
  static port = 0;
  static attempts = new Map<string, number>();
  static stepStarted?: () => void;
  static release?: Promise<void>;
  static hold?: Promise<void>;

  constructor(
    private readonly dbos: DbosContext,
    private readonly mail: MailClient,
  ) {}

  private count(): void {
    const id = this.dbos.workflowId!;
    Downstream.attempts.set(id, (Downstream.attempts.get(id) ?? 0) + 1);
  }

  /** Node's own http client: a refused connection is an error whose code is ECONNREFUSED, like the driver's. */
  @Step({ retries: { maxAttempts: 3, intervalMs: 20 } })
  async callApi(): Promise<string> {
    this.count();
    return new Promise<string>((resolve, reject) => {
      http.get(`http://127.0.0.1:${Downstream.port}/charge`, (res) => resolve(String(res.statusCode))).on('error', reject);
    });
  }

  @Workflow()
  async charge(): Promise<string> {
    return this.callApi();
  }

  @Workflow()
  async chargeOrFallBack(): Promise<string> {
    try {
      return await this.callApi();
    } catch (err) {
      return `fell back after: ${(err as Error).message}`;
    }
  }

  /** The transaction's body fails with an error that looks like a lost connection, but is not its connection's. */
  @Transaction()
  async bookWithRemoteCheck(): Promise<void> {
    await this.dbos.entityManager.query('SELECT 1');
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
  }

  @Workflow()
  async book(): Promise<void> {
    await this.bookWithRemoteCheck();
  }

  /** Fails while the notification service is down; an attempt can be held in flight (`hold`). */
  @Step({ retries: { maxAttempts: 20, intervalMs: 50, backoffRate: 1 } })
  async flakyNotify(): Promise<string> {
    this.count();
    Downstream.stepStarted?.();
    await Downstream.hold;
    if (Downstream.release === undefined) throw new Error('notification service is down');
    return 'notified';
  }

  @Workflow()
  async notify(): Promise<string> {
    return this.flakyNotify();
  }

  /** Uses the mail client while the app shuts down around it. */
  @Step()
  async mailReceipt(): Promise<string> {
    this.count();
    Downstream.stepStarted?.();
    await Downstream.release;
    await this.mail.send();
    return 'mailed';
  }

  @Workflow()
  async receipt(): Promise<string> {
    return this.mailReceipt();
  }
}

const EXECUTOR = 'faults-exec';
const VERSION = 'faults-v1';

describe('a step calling a service that is down', () => {
  const schema = uniqueSchema('stepfail');
  let app: INestApplicationContext;
  let client: WorkflowClient;

  beforeAll(async () => {
    Downstream.port = await closedPort();
    app = await createDbosApp([Downstream, MailClient], { schema, executorId: EXECUTOR, applicationVersion: VERSION });
    client = app.get(WorkflowClient);
  });

  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  it('goes through its retries and records its own ECONNREFUSED, not a database outage', async () => {
    const handle = await client.start(Downstream, { workflowId: 'down-1' }).charge();
    await expect(handle.getResult({ timeoutMs: 10_000 })).rejects.toThrow(/connect ECONNREFUSED 127\.0\.0\.1/);
    expect(Downstream.attempts.get('down-1')).toBe(3);
    expect((await handle.getStatus())?.status).toBe('ERROR');
    const steps = await client.listSteps('down-1');
    expect(steps).toHaveLength(1);
    expect(steps[0].error).toBeDefined();
  });

  it('lets the workflow catch the step failure and carry on', async () => {
    const handle = await client.start(Downstream, { workflowId: 'down-2' }).chargeOrFallBack();
    expect(await handle.getResult({ timeoutMs: 10_000 })).toMatch(/^fell back after: connect ECONNREFUSED/);
    expect(Downstream.attempts.get('down-2')).toBe(3);
  });

  it('records a @Transaction body error that only looks like a lost connection (its own connection is fine)', async () => {
    const handle = await client.start(Downstream, { workflowId: 'down-3' }).book();
    await expect(handle.getResult({ timeoutMs: 10_000 })).rejects.toThrow('connect ECONNREFUSED 127.0.0.1:6379');
    expect((await handle.getStatus())?.status).toBe('ERROR');
  });
});

describe('a deploy (graceful shutdown) is not a failure', () => {
  const schema = uniqueSchema('deploy');
  const options = { schema, executorId: EXECUTOR, applicationVersion: VERSION, shutdownTimeoutMs: 5_000 };

  afterAll(() => dropSchema(schema));
  afterEach(() => {
    Downstream.stepStarted = undefined;
    Downstream.release = undefined;
  });

  it('an attempt of a retried step that fails after shutdown began records nothing; the next start finishes it', async () => {
    let first = await createDbosApp([Downstream, MailClient], options);
    let unhold!: () => void;
    Downstream.hold = new Promise<void>((resolve) => (unhold = resolve));
    const started = new Promise<void>((resolve) => (Downstream.stepStarted = resolve));
    await first.get(WorkflowClient).start(Downstream, { workflowId: 'deploy-retry' }).notify();
    await started; // attempt 1 is in flight
    const { closing } = await beginClose(first);
    unhold(); // ... and fails now, during the shutdown
    await closing;
    Downstream.hold = undefined;
    const [row] = await sql<{ status: string }>(`SELECT status FROM "${schema}".workflow_status WHERE workflow_id = 'deploy-retry'`);
    expect(row.status).toBe('PENDING');
    expect(await sql(`SELECT 1 FROM "${schema}".operation_outputs WHERE workflow_id = 'deploy-retry'`)).toHaveLength(0);

    Downstream.release = Promise.resolve();
    first = await createDbosApp([Downstream, MailClient], options);
    try {
      expect(await first.get(WorkflowClient).retrieve('deploy-retry').getResult({ timeoutMs: 10_000 })).toBe('notified');
    } finally {
      await first.close();
    }
  });

  it('a step failing because the app closed its client during shutdown records nothing', async () => {
    let app = await createDbosApp([Downstream, MailClient], options);
    let release!: () => void;
    Downstream.release = new Promise<void>((resolve) => (release = resolve));
    const started = new Promise<void>((resolve) => (Downstream.stepStarted = resolve));
    await app.get(WorkflowClient).start(Downstream, { workflowId: 'deploy-mail' }).receipt();
    await started;
    // Nest runs the app's onModuleDestroy (closing the mail client) before the module's own shutdown hooks.
    const closing = app.close();
    await waitFor(() => app.get(MailClient).closed);
    release();
    await closing;
    const [row] = await sql<{ status: string }>(`SELECT status FROM "${schema}".workflow_status WHERE workflow_id = 'deploy-mail'`);
    expect(row.status).toBe('PENDING');
    expect(await sql(`SELECT 1 FROM "${schema}".operation_outputs WHERE workflow_id = 'deploy-mail'`)).toHaveLength(0);

    Downstream.release = Promise.resolve();
    app = await createDbosApp([Downstream, MailClient], options);
    try {
      expect(await app.get(WorkflowClient).retrieve('deploy-mail').getResult({ timeoutMs: 10_000 })).toBe('mailed');
    } finally {
      await app.close();
    }
  });
});

describe('no PENDING workflow without a runner', () => {
  const schema = uniqueSchema('orphan');
  let app: INestApplicationContext;
  let client: WorkflowClient;

  /** A PENDING row of this executor that nothing runs: what a start leaves when its insert committed but the reply was lost. */
  async function seedOrphan(workflowId: string, ageMs: number): Promise<void> {
    const at = Date.now() - ageMs;
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, class_name, inputs, executor_id, application_version, created_at, updated_at)
       VALUES ($1, 'PENDING', 'Downstream.notify', 'Downstream', $2, $3, $4, $5, $5)`,
      [workflowId, serialize([]), EXECUTOR, VERSION, at],
    );
  }

  beforeAll(async () => {
    Downstream.release = Promise.resolve();
    app = await createDbosApp([Downstream, MailClient], {
      schema,
      executorId: EXECUTOR,
      applicationVersion: VERSION,
      recovery: { executorLeaseMs: 2_000 },
    });
    client = app.get(WorkflowClient);
  });

  afterAll(async () => {
    Downstream.release = undefined;
    await app.close();
    await dropSchema(schema);
  });

  it('starting an id that is PENDING here but not running runs it', async () => {
    await seedOrphan('lost-reply', 0);
    const handle = await client.start(Downstream, { workflowId: 'lost-reply' }).notify();
    expect(await handle.getResult({ timeoutMs: 10_000 })).toBe('notified');
  });

  it('the periodic sweep runs such a workflow without any start or restart', async () => {
    await seedOrphan('swept', 10_000);
    expect(await client.retrieve('swept').getResult({ timeoutMs: 15_000 })).toBe('notified');
  });
});
