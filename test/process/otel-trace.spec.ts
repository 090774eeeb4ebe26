import { WorkflowClient } from '../../lib';
import { ChildApp } from '../support/child-app';
import { dropSchema, uniqueSchema, databaseOptions } from '../support/database';
import { registerOtel } from '../support/otel';

interface PrintedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
}

/** The spans a child printed (test/fixtures/otel-app.ts). */
function printedSpans(child: ChildApp): PrintedSpan[] {
  return [...child.log.matchAll(/^SPAN (.*)$/gm)].map((m) => JSON.parse(m[1]) as PrintedSpan);
}

describe('the trace of a workflow continues in another process', () => {
  const schema = uniqueSchema('oteltrace');
  const otel = registerOtel();
  const children: ChildApp[] = [];
  let client: WorkflowClient;

  const startApp = (env: Record<string, string> = {}) => {
    const child = ChildApp.start('otel-app.ts', { DBOS_SCHEMA: schema, ...env });
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    const migrator = startApp(); // migrates the schema
    await migrator.waitForOutput(/READY/);
    await migrator.kill('SIGTERM');
    client = await WorkflowClient.connect({ database: databaseOptions(), schema });
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')));
  });
  afterAll(async () => {
    await client?.close();
    await dropSchema(schema);
    await otel.shutdown();
  });

  it("a workflow enqueued here and run by a second process is in the enqueuer's trace", async () => {
    const worker = startApp();
    await worker.waitForOutput(/READY/);
    const enqueuer = await otel.tracer.startActiveSpan('enqueue job', async (span) => {
      await client.enqueue({ workflowName: 'TracedJob.run', queue: 'traced', workflowId: 'queued-elsewhere' }, 'q');
      span.end();
      return span.spanContext();
    });
    await expect(client.retrieve('queued-elsewhere').getResult({ timeoutMs: 30_000 })).resolves.toEqual(['first-q', 'second-q']);
    await worker.waitForOutput(/SPAN .*"name":"workflow TracedJob.run"/);
    const spans = printedSpans(worker);
    const workflow = spans.find((s) => s.name === 'workflow TracedJob.run')!;
    expect(workflow).toMatchObject({ traceId: enqueuer.traceId, parentSpanId: enqueuer.spanId });
    expect(workflow.attributes).toMatchObject({ 'dbos.workflow.id': 'queued-elsewhere', 'dbos.queue.name': 'traced', 'dbos.recovered': false });
    const steps = spans.filter((s) => s.parentSpanId === workflow.spanId).map((s) => s.name);
    expect(steps).toEqual(['step TracedJob.first', 'step TracedJob.second']);
  });

  it('a workflow recovered after SIGKILL keeps its trace id', async () => {
    const first = startApp({ START_TRACED: 'killed-1', HANG: '1' });
    const [, traceId, startSpanId] = await first.waitForOutput(/TRACE (\w+) (\w+)/);
    await first.waitForOutput(/HANGING/);
    await first.kill('SIGKILL');

    const second = startApp();
    await expect(client.retrieve('killed-1').getResult({ timeoutMs: 30_000 })).resolves.toEqual(['first-a', 'second-a']);
    await second.waitForOutput(/SPAN .*"name":"workflow TracedJob.run"/);
    const spans = printedSpans(second);
    const workflow = spans.find((s) => s.name === 'workflow TracedJob.run')!;
    expect(workflow).toMatchObject({ traceId, parentSpanId: startSpanId });
    expect(workflow.attributes).toMatchObject({ 'dbos.workflow.id': 'killed-1', 'dbos.recovered': true });
    // The recorded first step is replayed, not run: only the second has a span in this process.
    expect(spans.filter((s) => s.parentSpanId === workflow.spanId).map((s) => s.name)).toEqual(['step TracedJob.second']);
  });

  it('a workflow adopted by another executor after its own died keeps its trace id', async () => {
    const first = startApp({ START_TRACED: 'adopted-1', HANG: '1', EXECUTOR_ID: 'otel-gone', LEASE_MS: '1500' });
    const [, traceId, startSpanId] = await first.waitForOutput(/TRACE (\w+) (\w+)/);
    await first.waitForOutput(/HANGING/);
    await first.kill('SIGKILL');

    // Another executor id: nothing recovers otel-gone's workflows at startup; its monitor adopts them once the lease ran out.
    const adopter = startApp({ EXECUTOR_ID: 'otel-adopter', LEASE_MS: '1500' });
    await expect(client.retrieve('adopted-1').getResult({ timeoutMs: 30_000 })).resolves.toEqual(['first-a', 'second-a']);
    expect((await client.getStatus('adopted-1'))!.executorId).toBe('otel-adopter');
    await adopter.waitForOutput(/SPAN .*"name":"workflow TracedJob.run"/);
    const workflow = printedSpans(adopter).find((s) => s.name === 'workflow TracedJob.run')!;
    expect(workflow).toMatchObject({ traceId, parentSpanId: startSpanId });
    expect(workflow.attributes).toMatchObject({ 'dbos.workflow.id': 'adopted-1', 'dbos.recovered': true });
  });
});
