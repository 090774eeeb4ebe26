import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import type { Receipt } from '../sample-app/checkout/order';
import type { OrderStatusView } from '../sample-app/orders/orders.controller';

const REPO_ROOT = path.join(__dirname, '..');
// eslint-disable-next-line no-control-regex -- the log's ANSI colours end the path
const STARTED = /Started the embedded Postgres \d+ on 127\.0\.0\.1:(\d+); its data lives in ([^\s\u001b]+)/;
// eslint-disable-next-line no-control-regex -- the log's ANSI colours end the path
const IN_USE = /(?:Started|Using) the embedded Postgres .*?on 127\.0\.0\.1:(\d+); its data lives in ([^\s\u001b]+)/;
const STARTUP_TIMEOUT_MS = 180_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** `npm start` without DATABASE_URL, as a real process of its own (and process group, for cleanup). */
class SampleAppProcess {
  output = '';
  readonly exited: Promise<Exit>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  static start(port: number): SampleAppProcess {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
    delete env.DATABASE_URL;
    delete env.DBOS_SCHEMA;
    delete env.APP_SCHEMA;
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'sample-app/main.ts'], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    return new SampleAppProcess(child);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (!this.running) throw new Error(`the app exited before printing ${pattern}; output:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`the app did not print ${pattern} in time; output:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Last resort after a failed test: the app and the Postgres it started. */
  killGroup(): void {
    if (this.running && this.child.pid) process.kill(-this.child.pid, 'SIGKILL');
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function embeddedUrl(port: string): string {
  return `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
}

async function embeddedPostgresAnswers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function widgetsInEmbeddedPostgres(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ count: number }>(`SELECT count FROM public.stock WHERE sku = 'widget'`)).rows[0].count;
  } finally {
    await client.end();
  }
}

describe('sample app started like `npm start`, without DATABASE_URL', () => {
  let app: SampleAppProcess | undefined;

  afterAll(() => {
    app?.killGroup();
  });

  it(
    'runs on its own embedded Postgres: checks out an order over HTTP, then shuts down on SIGTERM and stops that Postgres',
    async () => {
      app = SampleAppProcess.start(await freePort());

      const [, baseUrl] = await app.waitForOutput(/listening on (http:\/\/localhost:\d+)/, STARTUP_TIMEOUT_MS);
      expect(app.output).toContain('EMBEDDED Postgres');
      // The log says where the data lives (and the port: 54329 unless another project holds it).
      const [, pgPort, dataDir] = app.output.match(IN_USE)!;
      expect(fs.existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
      const startedByApp = STARTED.test(app.output);
      const pgUrl = embeddedUrl(pgPort);

      const orderId = `embedded-${randomUUID().slice(0, 8)}`;
      const placed = await request(baseUrl).post('/orders').send({ orderId, sku: 'widget', quantity: 1 }).expect(202);
      expect(placed.body).toEqual({ workflowId: `order-${orderId}` });

      let view: OrderStatusView;
      const deadline = Date.now() + 30_000;
      do {
        view = (await request(baseUrl).get(`/orders/order-${orderId}`).expect(200)).body as OrderStatusView;
        if (view.status === 'SUCCESS') break;
        expect(['PENDING', 'ENQUEUED']).toContain(view.status);
        await new Promise((resolve) => setTimeout(resolve, 100));
      } while (Date.now() < deadline);
      expect(view.status).toBe('SUCCESS');
      const receipt = view.result as Receipt;
      expect(receipt).toMatchObject({ orderId, sku: 'widget', quantity: 1 });
      expect(await widgetsInEmbeddedPostgres(pgUrl)).toBe(receipt.remainingStock);

      const logLengthBeforeShutdown = app.output.length;
      app.child.kill('SIGTERM');
      const exit = await app.exited;

      // Nest closes the app, then re-raises the signal.
      expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
      // The database went down last: no connection of the app was cut under it.
      expect(app.output.slice(logLengthBeforeShutdown)).not.toMatch(/ERROR|terminating connection/);
      if (startedByApp) expect(await embeddedPostgresAnswers(pgUrl)).toBe(false);
    },
    STARTUP_TIMEOUT_MS + 60_000,
  );
});
