import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { ChildApp } from '../support/child-app';
import { dropSchema, uniqueSchema } from '../support/database';
import { startSampleApp } from '../support/sample-app';
import { waitFor } from '../support/wait';

describe('sample app: the OpenTelemetry SDK (console traces, Prometheus /metrics)', () => {
  const dbosSchema = uniqueSchema('sample_otel_dbos');
  const appSchema = uniqueSchema('sample_otel_app');
  let app: ChildApp | undefined;

  afterAll(async () => {
    app?.killGroup();
    await dropSchema(dbosSchema);
    await dropSchema(appSchema);
  });

  it("an order posted with a traceparent is checked out in the caller's trace, and /metrics counts it", async () => {
    const { baseUrl } = await startSampleApp(
      { dbosSchema, appSchema },
      { OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_TRACES_EXPORTER: undefined },
      (child) => (app = child),
    );
    const traceId = randomBytes(16).toString('hex');
    const orderId = `otel-${randomBytes(4).toString('hex')}`;
    await request(baseUrl)
      .post('/orders')
      .set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`)
      .send({ orderId, sku: 'widget', quantity: 1 })
      .expect(202);
    await waitFor(async () => (await request(baseUrl).get(`/orders/order-${orderId}`)).body.status === 'SUCCESS', 30_000, 100);

    // The console exporter prints each span: the workflow's (and its steps') carry the caller's trace id.
    const workflowSpan = new RegExp(`traceId: '${traceId}'[\\s\\S]*?name: 'workflow CheckoutService\\.checkout'`);
    await app!.waitForOutput(workflowSpan, 30_000);
    expect(app!.log).toMatch(new RegExp(`traceId: '${traceId}'[\\s\\S]*?name: 'step CheckoutService\\.shipOrder'`));

    const metrics = await request(baseUrl).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/dbos_workflows_finished_total\{dbos_workflow_name="CheckoutService\.checkout",status="SUCCESS"[^}]*\} 1/);
    expect(metrics.text).toMatch(/dbos_step_duration_count\{dbos_step_name="CheckoutService\.shipOrder",status="SUCCESS"[^}]*\} 1/);
  });
});
