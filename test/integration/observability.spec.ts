import { Controller, Get, Injectable, Module, Param, type INestApplication, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import request from 'supertest';
import { DbosContext, DbosModule, Step, Transaction, Workflow, WorkflowClient } from '../../lib';
import { databaseOptions, databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { parentOf, registerOtel } from '../support/otel';
import { waitFor } from '../support/wait';

@Injectable()
class Orders {
  static failures = 0;
  constructor(private readonly dbos: DbosContext) {}

  @Step() async reserve(id: string): Promise<string> {
    return `reserved-${id}`;
  }

  @Step({ retries: { maxAttempts: 3, intervalMs: 5 } }) async charge(id: string): Promise<string> {
    if (Orders.failures > 0) {
      Orders.failures--;
      throw new Error(`card declined for ${id}`);
    }
    return `charged-${id}`;
  }

  @Transaction() async record(id: string): Promise<string> {
    await this.dbos.entityManager.query('SELECT 1');
    return `recorded-${id}`;
  }

  @Workflow() async checkout(id: string): Promise<string[]> {
    const out = [await this.reserve(id), await this.charge(id), await this.record(id)];
    await this.dbos.setEvent('done', true);
    return out;
  }

  @Workflow() async nap(ms: number): Promise<void> {
    await this.dbos.sleep(ms);
  }

  /** Waits for a message on `go` (or 60 s). */
  @Workflow() async hold(): Promise<string | null> {
    return this.dbos.recv<string>('go', { timeoutMs: 60_000 });
  }

  @Workflow() async poke(target: string): Promise<void> {
    await this.dbos.send(target, 'go', 'go');
  }

  @Workflow() async parent(id: string): Promise<string[]> {
    const child = await this.dbos.startWorkflow(Orders).checkout(id);
    return child.getResult();
  }
}

@Controller('orders')
class OrdersController {
  constructor(private readonly client: WorkflowClient) {}

  /** A request handled inside a server span, as the HTTP instrumentation would open it. */
  @Get(':id')
  checkout(@Param('id') id: string): Promise<{ traceId: string; result: string[] }> {
    return trace.getTracer('http').startActiveSpan(`GET /orders/${id}`, { kind: SpanKind.SERVER }, async (span) => {
      try {
        const handle = await this.client.start(Orders, { workflowId: `order-${id}` }).checkout(id);
        return { traceId: span.spanContext().traceId, result: await handle.getResult() };
      } finally {
        span.end();
      }
    });
  }
}

/** `text` as a regular expression matching it literally. */
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The app's logger (app.useLogger), as a pino or winston adapter would be: keeps every line. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log = (message: unknown) => void this.lines.push(String(message));
  warn = (message: unknown) => void this.lines.push(String(message));
  error = (message: unknown) => void this.lines.push(String(message));
}

describe('OpenTelemetry: traces and metrics with the real SDK', () => {
  const logger = new CapturingLogger();
  const schema = uniqueSchema('otel');
  const otel = registerOtel();
  const exporter = otel.exporter as InMemorySpanExporter;
  let app: INestApplication;
  let client: WorkflowClient;

  const spansOf = (traceId: string) => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
  /** The sum of a counter's points whose attributes include `match`. */
  const sum = async (name: string, match: Record<string, unknown>) =>
    (await otel.points<number>(name)).filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + p.value, 0);

  beforeAll(async () => {
    @Module({
      imports: [
        DbosModule.forRoot({
          database: databaseOptions(),
          schema,
          shutdownTimeoutMs: 2_000,
          queues: [{ name: 'traced' }, { name: 'one-at-a-time', concurrency: 1 }],
          // Short, so a silent executor's workflows are adopted within seconds.
          recovery: { executorLeaseMs: 3_000 },
        }),
      ],
      controllers: [OrdersController],
      providers: [Orders],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication();
    app.useLogger(logger);
    await app.init();
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
    await otel.shutdown();
  });
  beforeEach(() => {
    exporter.reset();
    Orders.failures = 0;
  });

  it('a workflow started in a request is one trace: request, then workflow, then its steps', async () => {
    const res = await request(app.getHttpServer()).get('/orders/o-1').expect(200);
    expect(res.body.result).toEqual(['reserved-o-1', 'charged-o-1', 'recorded-o-1']);
    const spans = spansOf(res.body.traceId);
    const [server] = named(spans, 'GET /orders/o-1');
    const [workflow] = named(spans, 'workflow Orders.checkout');
    expect(server).toBeDefined();
    expect(workflow).toBeDefined();
    expect(parentOf(workflow)).toBe(server.spanContext().spanId);
    expect(workflow.attributes).toMatchObject({ 'dbos.workflow.id': 'order-o-1', 'dbos.workflow.name': 'Orders.checkout', 'dbos.recovered': false });
    expect(workflow.status.code).not.toBe(SpanStatusCode.ERROR);
    const steps = spans
      .filter((s) => parentOf(s) === workflow.spanContext().spanId)
      .sort((a, b) => Number(a.attributes['dbos.step.id']) - Number(b.attributes['dbos.step.id']));
    expect(steps.map((s) => [s.name, s.attributes['dbos.step.id'], s.attributes['dbos.step.attempt']])).toEqual([
      ['step Orders.reserve', 0, 1],
      ['step Orders.charge', 1, 1],
      ['step Orders.record', 2, 1],
      ['step DBOS.setEvent', 3, 1],
    ]);
    expect(steps[0].attributes).toMatchObject({ 'dbos.workflow.id': 'order-o-1', 'dbos.step.name': 'Orders.reserve' });
  });

  it("a failing step's attempts are spans with status ERROR and the exception, one per attempt", async () => {
    Orders.failures = 5;
    const handle = await client.start(Orders, { workflowId: 'failing-1' }).checkout('f-1');
    await expect(handle.getResult()).rejects.toThrow('card declined for f-1');
    const spans = exporter.getFinishedSpans().filter((s) => s.attributes['dbos.workflow.id'] === 'failing-1');
    const attempts = named(spans, 'step Orders.charge');
    expect(attempts.map((s) => s.attributes['dbos.step.attempt'])).toEqual([1, 2, 3]);
    for (const attempt of attempts) {
      expect(attempt.status).toEqual({ code: SpanStatusCode.ERROR, message: 'card declined for f-1' });
      expect(attempt.events.find((e) => e.name === 'exception')?.attributes).toMatchObject({ 'exception.message': 'card declined for f-1' });
    }
    const [workflow] = named(spans, 'workflow Orders.checkout');
    expect(workflow.status.code).toBe(SpanStatusCode.ERROR);
    expect(parentOf(workflow)).toBeUndefined(); // started outside any span: a trace of its own
    // The module's lines reach the app's logger, naming the workflow (and step) and the trace.
    const traceId = workflow.spanContext().traceId;
    expect(logger.lines.filter((l) => l.startsWith('Workflow failing-1 '))).toEqual([
      `Workflow failing-1 step 1 (Orders.charge) [trace ${traceId}] failed (attempt 1/3), retrying in 5 ms: card declined for f-1`,
      `Workflow failing-1 step 1 (Orders.charge) [trace ${traceId}] failed (attempt 2/3), retrying in 10 ms: card declined for f-1`,
      `Workflow failing-1 [trace ${traceId}] (Orders.checkout) ended in ERROR: Error: card declined for f-1`,
    ]);
  });

  it("a child workflow's span is a child of the parent's start operation", async () => {
    const handle = await client.start(Orders, { workflowId: 'parent-1' }).parent('c-1');
    await handle.getResult();
    const spans = exporter.getFinishedSpans();
    const [start] = spans.filter((s) => s.name === 'step DBOS.startWorkflow' && s.attributes['dbos.workflow.id'] === 'parent-1');
    const [child] = spans.filter((s) => s.name === 'workflow Orders.checkout' && s.attributes['dbos.workflow.id'] === 'parent-1-0');
    expect(parentOf(child)).toBe(start.spanContext().spanId);
    expect(child.spanContext().traceId).toBe(start.spanContext().traceId);
  });

  it('a queued workflow enqueued inside a span runs in that trace, with its queue', async () => {
    const traceId = await otel.tracer.startActiveSpan('enqueue', async (span) => {
      await client.enqueue({ workflowName: 'Orders.checkout', queue: 'traced', workflowId: 'queued-1' }, 'q-1');
      span.end();
      return span.spanContext().traceId;
    });
    await client.retrieve('queued-1').getResult({ timeoutMs: 10_000 });
    // The handle hears the outcome from the database; the span ends just after it is written.
    await waitFor(() => named(spansOf(traceId), 'workflow Orders.checkout').length === 1);
    const [workflow] = named(spansOf(traceId), 'workflow Orders.checkout');
    expect(workflow.attributes).toMatchObject({ 'dbos.workflow.id': 'queued-1', 'dbos.queue.name': 'traced', 'dbos.recovered': false });
  });

  it('a workflow enqueued by the enqueue_workflow SQL function with a traceparent runs as a child of that span', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentSpanId = '00f067aa0ba902b7';
    await sql(`SELECT "${schema}".enqueue_workflow('Orders.checkout', 'traced', '["s-1"]', 'sql-traced', $1)`, [`00-${traceId}-${parentSpanId}-01`]);
    await client.retrieve('sql-traced').getResult({ timeoutMs: 10_000 });
    await waitFor(() => named(spansOf(traceId), 'workflow Orders.checkout').length === 1, { what: 'the span of the SQL-enqueued run' });
    const [workflow] = named(spansOf(traceId), 'workflow Orders.checkout');
    expect(parentOf(workflow)).toBe(parentSpanId);
    expect(workflow.attributes).toMatchObject({ 'dbos.workflow.id': 'sql-traced', 'dbos.queue.name': 'traced' });
    expect(named(spansOf(traceId), 'step Orders.reserve').map(parentOf)).toEqual([workflow.spanContext().spanId]);
  });

  it('a message sent by one workflow and received by another: spans step DBOS.send and step DBOS.recv, in their workflows', async () => {
    const held = await client.start(Orders, { workflowId: 'sr-hold' }).hold();
    await (await client.start(Orders, { workflowId: 'sr-poke' }).poke('sr-hold')).getResult();
    expect(await held.getResult()).toBe('go');
    const spansOfRun = (id: string) => exporter.getFinishedSpans().filter((s) => s.attributes['dbos.workflow.id'] === id);
    await waitFor(() => named(spansOfRun('sr-hold'), 'workflow Orders.hold').length === 1, { what: 'the receiver to end its span' });
    const [send] = named(spansOfRun('sr-poke'), 'step DBOS.send');
    const [recv] = named(spansOfRun('sr-hold'), 'step DBOS.recv');
    expect(parentOf(send)).toBe(named(spansOfRun('sr-poke'), 'workflow Orders.poke')[0].spanContext().spanId);
    expect(parentOf(recv)).toBe(named(spansOfRun('sr-hold'), 'workflow Orders.hold')[0].spanContext().spanId);
    expect(send.attributes).toMatchObject({ 'dbos.step.name': 'DBOS.send', 'dbos.step.id': 0, 'dbos.step.attempt': 1 });
    expect(recv.attributes).toMatchObject({ 'dbos.step.name': 'DBOS.recv', 'dbos.step.id': 1 }); // after DBOS.recvDeadline, its recorded deadline
    expect(recv.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('a durable sleep is a span as long as the wait, with the recording of its wake-up time inside', async () => {
    await (await client.start(Orders, { workflowId: 'nap-1' }).nap(150)).getResult();
    const spans = exporter.getFinishedSpans().filter((s) => s.attributes['dbos.workflow.id'] === 'nap-1');
    const [sleep] = named(spans, 'sleep');
    const [recorded] = named(spans, 'step DBOS.sleep');
    expect(parentOf(recorded)).toBe(sleep.spanContext().spanId);
    expect(parentOf(sleep)).toBe(named(spans, 'workflow Orders.nap')[0].spanContext().spanId);
    const ms = (s: ReadableSpan) => s.duration[0] * 1e3 + s.duration[1] / 1e6;
    expect(ms(sleep)).toBeGreaterThanOrEqual(145);
  });

  it("a fork made inside a span runs in the forker's trace", async () => {
    await (await client.start(Orders, { workflowId: 'to-fork' }).checkout('k-1')).getResult();
    const forker = await otel.tracer.startActiveSpan('fork it', async (span) => {
      await client.fork('to-fork', { fromStep: 1, workflowId: 'forked-1' });
      span.end();
      return span.spanContext();
    });
    await client.retrieve('forked-1').getResult({ timeoutMs: 10_000 });
    await waitFor(() => named(spansOf(forker.traceId), 'workflow Orders.checkout').length === 1);
    const [workflow] = named(spansOf(forker.traceId), 'workflow Orders.checkout');
    expect(parentOf(workflow)).toBe(forker.spanId);
    expect(workflow.attributes['dbos.workflow.id']).toBe('forked-1');
  });

  it('a cancelled workflow ends its span with a cancelled event, not an error, and counts as finished CANCELLED', async () => {
    const cancelled = () => sum('dbos.workflows.finished', { 'dbos.workflow.name': 'Orders.nap', status: 'CANCELLED' });
    const before = await cancelled();
    const handle = await client.start(Orders, { workflowId: 'cancelled-nap' }).nap(60_000);
    await waitFor(async () => (await client.listSteps('cancelled-nap')).length === 1, { what: 'the nap to record its wake-up time' });
    await client.cancel('cancelled-nap');
    await expect(handle.getResult()).rejects.toThrow(/cancelled/i);
    await waitFor(() => named(exporter.getFinishedSpans(), 'workflow Orders.nap').length === 1, { what: 'the span of the cancelled run to end' });
    const [span] = named(exporter.getFinishedSpans(), 'workflow Orders.nap');
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes['dbos.workflow.status']).toBe('CANCELLED');
    expect(span.events.map((e) => e.name)).toEqual(['cancelled']);
    await waitFor(async () => (await cancelled()) === before + 1, { what: 'the cancellation to be counted' });
  });

  it('a workflow cancelled while ENQUEUED counts as finished CANCELLED once, by the process that cancelled it; the cancel lines carry its stored trace', async () => {
    const cancelled = () => sum('dbos.workflows.finished', { 'dbos.workflow.name': 'Orders.hold', status: 'CANCELLED' });
    const before = await cancelled();
    const traceId = await otel.tracer.startActiveSpan('enqueue them', async (span) => {
      for (const id of ['cq-run', 'cq-wait-1', 'cq-wait-2']) await client.enqueue({ workflowName: 'Orders.hold', queue: 'one-at-a-time', workflowId: id });
      span.end();
      return span.spanContext().traceId;
    });
    await waitFor(async () => (await client.list({ queue: 'one-at-a-time', status: 'PENDING' })).length === 1, { what: 'the first to run' });
    // A client without a runtime (no Nest app) cancels one that waits: no run anywhere counts it, that client does.
    const outside = await WorkflowClient.connect({ database: { url: databaseUrl() }, schema });
    try {
      await outside.cancel('cq-wait-2');
    } finally {
      await outside.close();
    }
    expect(await cancelled()).toBe(before + 1);
    // The app's client cancels the running one (its run here counts itself) and the other that waits.
    await client.cancel(['cq-run', 'cq-wait-1']);
    // Logged outside any span, each line carries the trace its workflow's start stored.
    expect(logger.lines.filter((l) => / cancelled/.test(l) && l.startsWith('Workflow cq-')).sort()).toEqual([
      `Workflow cq-run [trace ${traceId}] (Orders.hold) cancelled`,
      `Workflow cq-wait-1 [trace ${traceId}] (Orders.hold) cancelled`,
    ]);
    await waitFor(async () => (await cancelled()) === before + 3, { what: 'the three cancels to be counted' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await cancelled()).toBe(before + 3);
    const statuses = await client.list({ workflowIdPrefix: 'cq-' });
    expect(statuses.map((w) => w.status)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
    const ran = named(exporter.getFinishedSpans(), 'workflow Orders.hold').map((span) => span.attributes['dbos.workflow.id']);
    expect(ran.filter((id) => String(id).startsWith('cq-'))).toEqual(['cq-run']);
  });

  it('recovered workflows count in dbos.recoveries by source, their runs stay in the trace of their start, and the recovery lines carry it', async () => {
    const recoveries = (source: string) => sum('dbos.recoveries', { 'dbos.workflow.name': 'Orders.checkout', source });
    const sources = ['adoption', 'sweep', 'version', 'restart'];
    const before = Object.fromEntries(await Promise.all(sources.map(async (s) => [s, await recoveries(s)] as const)));
    const ids = ['rec-adopt', 'rec-sweep', 'rec-version'];
    const traceId = await otel.tracer.startActiveSpan('start them', async (span) => {
      for (const id of ids) await (await client.start(Orders, { workflowId: id }).checkout(id)).getResult();
      span.end();
      return span.spanContext().traceId;
    });
    const reopen = (id: string, set: string) =>
      sql(`UPDATE "${schema}".workflow_status SET status = 'PENDING', output = NULL, updated_at = 0${set} WHERE workflow_id = $1`, [id]);
    await reopen('rec-adopt', `, executor_id = 'dead-exec'`); // PENDING on an executor that never heartbeats
    await reopen('rec-sweep', ''); // PENDING here, without a runner
    await reopen('rec-version', `, executor_id = 'old-exec', application_version = 'v-old'`); // of a version no executor runs
    const finished = async () =>
      (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".workflow_status WHERE workflow_id = ANY($1) AND status = 'SUCCESS'`, [ids]))[0].n;
    await waitFor(async () => (await finished()) === ids.length, { what: 'the three to be recovered and finish again', timeoutMs: 30_000 });
    await waitFor(async () => (await recoveries('version')) === before.version + 1, { what: 'the version adoption to be counted' });
    expect(await recoveries('adoption')).toBe(before.adoption + 1);
    expect(await recoveries('sweep')).toBe(before.sweep + 1);
    expect(await recoveries('restart')).toBe(before.restart);
    await waitFor(() => named(spansOf(traceId), 'workflow Orders.checkout').length === 6, { what: 'the spans of the recovered runs' });
    const recovered = named(spansOf(traceId), 'workflow Orders.checkout').filter((s) => s.attributes['dbos.recovered'] === true);
    expect(recovered.map((s) => s.attributes['dbos.workflow.id']).sort()).toEqual(ids);
    // Recovery is logged outside any span: its lines carry the trace the workflow's start stored.
    const label = (id: string) => `Workflow ${id} [trace ${traceId}] (Orders.checkout)`;
    expect(logger.lines.filter((l) => l.startsWith('Workflow rec-')).sort()).toEqual([
      `${label('rec-adopt')} recovered by adoption from silent executor "dead-exec" (recovery attempt 1)`,
      `${label('rec-sweep')} recovered by the sweep (PENDING here without a runner) (recovery attempt 1)`,
      expect.stringMatching(new RegExp(`^${escape(label('rec-version'))} moves from version "v-old" to "\\w+": it replays cleanly$`)),
      `${label('rec-version')} recovered by a newer version, from executor "old-exec" of a version no executor runs (recovery attempt 1)`,
    ]);
  });

  it('the queue gauges: a concurrency-1 queue with one workflow running and two waiting has depth 2 and running 1', async () => {
    const gauge = async (name: string) =>
      (await otel.points<number>(name)).filter((p) => p.attributes['dbos.queue.name'] === 'one-at-a-time').map((p) => p.value);
    const ids = ['gauge-1', 'gauge-2', 'gauge-3'];
    for (const id of ids) await client.enqueue({ workflowName: 'Orders.hold', queue: 'one-at-a-time', workflowId: id });
    await waitFor(async () => (await client.list({ queue: 'one-at-a-time', status: 'PENDING' })).length === 1, { what: 'one of them to run' });
    expect(await gauge('dbos.queue.depth')).toEqual([2]);
    expect(await gauge('dbos.queue.running')).toEqual([1]);
    for (const id of ids) await client.send(id, 'go', 'go');
    for (const id of ids) expect(await client.retrieve(id).getResult({ timeoutMs: 10_000 })).toBe('go');
    expect(await gauge('dbos.queue.depth')).toEqual([0]);
    expect(await gauge('dbos.queue.running')).toEqual([0]);
  });

  it('the metrics count what ran', async () => {
    const count = async (name: string, match: Record<string, unknown>) =>
      (await otel.points<{ count: number }>(name))
        .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
        .reduce((n, p) => n + p.value.count, 0);
    const before = {
      started: await sum('dbos.workflows.started', { 'dbos.workflow.name': 'Orders.checkout' }),
      success: await sum('dbos.workflows.finished', { 'dbos.workflow.name': 'Orders.checkout', status: 'SUCCESS' }),
      error: await sum('dbos.workflows.finished', { 'dbos.workflow.name': 'Orders.checkout', status: 'ERROR' }),
      durations: await count('dbos.workflow.duration', { 'dbos.workflow.name': 'Orders.checkout' }),
      charges: await count('dbos.step.duration', { 'dbos.step.name': 'Orders.charge' }),
      retries: await sum('dbos.step.retries', { 'dbos.step.name': 'Orders.charge' }),
      waits: await count('dbos.queue.wait', { 'dbos.queue.name': 'traced' }),
    };
    await (await client.start(Orders, { workflowId: 'metrics-ok' }).checkout('m-1')).getResult();
    Orders.failures = 1; // one retry, then success
    await (await client.start(Orders, { workflowId: 'metrics-retry' }).checkout('m-2')).getResult();
    Orders.failures = 3; // three failed attempts: ERROR
    await expect((await client.start(Orders, { workflowId: 'metrics-error' }).checkout('m-3')).getResult()).rejects.toThrow();
    await (await client.enqueue({ workflowName: 'Orders.checkout', queue: 'traced', workflowId: 'metrics-queued' }, 'm-4')).getResult({ timeoutMs: 10_000 });
    // The queued one's handle hears the outcome from the database, a moment before its run counts it.
    await waitFor(async () => (await sum('dbos.workflows.finished', { 'dbos.workflow.name': 'Orders.checkout', status: 'SUCCESS' })) === before.success + 3);

    expect(await sum('dbos.workflows.started', { 'dbos.workflow.name': 'Orders.checkout' })).toBe(before.started + 4);
    expect(await sum('dbos.workflows.finished', { 'dbos.workflow.name': 'Orders.checkout', status: 'SUCCESS' })).toBe(before.success + 3);
    expect(await sum('dbos.workflows.finished', { 'dbos.workflow.name': 'Orders.checkout', status: 'ERROR' })).toBe(before.error + 1);
    expect(await count('dbos.workflow.duration', { 'dbos.workflow.name': 'Orders.checkout' })).toBe(before.durations + 4);
    expect(await count('dbos.step.duration', { 'dbos.step.name': 'Orders.charge' })).toBe(before.charges + 1 + 2 + 3 + 1);
    expect(await sum('dbos.step.retries', { 'dbos.step.name': 'Orders.charge' })).toBe(before.retries + 1 + 2);
    expect(await count('dbos.queue.wait', { 'dbos.queue.name': 'traced' })).toBe(before.waits + 1);
    // The queue gauges read the system database at each collection.
    expect(await otel.points('dbos.queue.depth')).toEqual(
      expect.arrayContaining([expect.objectContaining({ attributes: { 'dbos.queue.name': 'traced' }, value: 0 })]),
    );
    expect(await otel.points('dbos.queue.running')).toEqual(expect.arrayContaining([expect.objectContaining({ attributes: { 'dbos.queue.name': 'traced' } })]));
  });
});
