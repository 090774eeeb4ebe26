import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import type { Receipt } from '../../sample-app/checkout/order';
import type { OrderStatusView } from '../../sample-app/orders/orders.controller';
import { ChildApp } from '../support/child-app';
import { sqlAt } from '../support/database';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

// eslint-disable-next-line no-control-regex -- the log's ANSI colours end the path
const STARTED = /Started the embedded Postgres \d+ on 127\.0\.0\.1:(\d+); its data lives in ([^\s\u001b]+)/;
// eslint-disable-next-line no-control-regex -- the log's ANSI colours end the path
const IN_USE = /(?:Started|Using) the embedded Postgres .*?on 127\.0\.0\.1:(\d+); its data lives in ([^\s\u001b]+)/;
const STARTUP_TIMEOUT_MS = 180_000;

/** `npm start` without DATABASE_URL, as a real process of its own (and process group, for cleanup). */
function startSampleApp(port: number): ChildApp {
  return ChildApp.run('sample-app/main.ts', {
    env: { PORT: String(port), DATABASE_URL: undefined, DBOS_SCHEMA: undefined, APP_SCHEMA: undefined },
    detached: true,
  });
}

function embeddedUrl(port: string): string {
  return `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
}

async function embeddedPostgresAnswers(url: string): Promise<boolean> {
  return sqlAt(url, 'SELECT 1').then(
    () => true,
    () => false,
  );
}

async function widgetsInEmbeddedPostgres(url: string): Promise<number> {
  return (await sqlAt<{ count: number }>(url, `SELECT count FROM public.stock WHERE sku = 'widget'`))[0].count;
}

describe('sample app started like `npm start`, without DATABASE_URL', () => {
  let app: ChildApp | undefined;

  afterAll(() => {
    app?.killGroup();
  });

  it(
    'runs on its own embedded Postgres: checks out an order over HTTP, then shuts down on SIGTERM and stops that Postgres',
    async () => {
      app = startSampleApp(await freePort());

      const [, baseUrl] = await app.waitForOutput(/listening on (http:\/\/localhost:\d+)/, STARTUP_TIMEOUT_MS);
      expect(app.log).toContain('EMBEDDED Postgres');
      // The log says where the data lives (and the port: 54329 unless another project holds it).
      const [, pgPort, dataDir] = app.log.match(IN_USE)!;
      expect(fs.existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
      const startedByApp = STARTED.test(app.log);
      const pgUrl = embeddedUrl(pgPort);

      await request(baseUrl).get('/health/ready').expect(200);
      const orderId = `embedded-${randomUUID().slice(0, 8)}`;
      const placed = await request(baseUrl).post('/orders').send({ orderId, sku: 'widget', quantity: 1 }).expect(202);
      expect(placed.body).toEqual({ workflowId: `order-${orderId}` });

      let view!: OrderStatusView;
      await waitFor(
        async () => {
          view = (await request(baseUrl).get(`/orders/order-${orderId}`).expect(200)).body as OrderStatusView;
          return !['PENDING', 'ENQUEUED'].includes(view.status);
        },
        30_000,
        100,
      );
      expect(view.status).toBe('SUCCESS');
      const receipt = view.result as Receipt;
      expect(receipt).toMatchObject({ orderId, sku: 'widget', quantity: 1 });
      expect(await widgetsInEmbeddedPostgres(pgUrl)).toBe(receipt.remainingStock);

      const logLengthBeforeShutdown = app.log.length;
      app.process.kill('SIGTERM');
      const exit = await app.exit;

      // Nest closes the app, then re-raises the signal.
      expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
      // The database went down last: no connection of the app was cut under it.
      expect(app.log.slice(logLengthBeforeShutdown)).not.toMatch(/ERROR|terminating connection/);
      if (startedByApp) expect(await embeddedPostgresAnswers(pgUrl)).toBe(false);
    },
    STARTUP_TIMEOUT_MS + 60_000,
  );
});
