import { Injectable, type CanActivate, type INestApplication } from '@nestjs/common';
import { get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { App } from 'supertest/types';
import { WorkflowClient } from '../../lib';
import { dropSchema, sql, uniqueSchema } from '../support/database';
import { Shop, startDashboardApp } from '../support/dashboard-app';
import { waitFor } from '../support/wait';

/** The dashboard's JSON API on a real app and database: filters, pages, details, actions and their refusals. */
describe('dashboard API', () => {
  const schema = uniqueSchema('dash_api');
  let app: INestApplication;
  let client: WorkflowClient;
  const http = () => request(app.getHttpServer() as App);
  const statusOf = async (id: string) =>
    (await sql<{ status: string }>(`SELECT status FROM ${schema}.workflow_status WHERE workflow_id = $1`, [id]))[0]?.status;

  beforeAll(async () => {
    app = await startDashboardApp(schema, { path: '/ops' });
    client = app.get(WorkflowClient);
    for (let i = 1; i <= 5; i++) await (await client.start(Shop, { workflowId: `ok-${i}` }).order(`item-${i}`, i)).getResult();
    await (await client.start(Shop, { workflowId: 'bad-1' }).order('broken', -1)).getResult().catch(() => undefined);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  it('serves the page at its path with its base URL, and its assets with cache headers', async () => {
    const page = await http().get('/ops').expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('<base href="/ops/" />');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const script = await http().get('/ops/assets/app.js').expect(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.headers['cache-control']).toContain('max-age=3600');
    await http().get('/ops/assets/app.js').set('If-None-Match', script.headers.etag).expect(304);
    await http().get('/ops/assets/..%2Fdashboard.module.ts').expect(404);
    await http().get('/dbos').expect(404);
  });

  it('lists workflows newest first with status, name and id-prefix filters', async () => {
    const all = await http().get('/ops/api/workflows').expect(200);
    expect(all.body.workflows.map((w: { workflowId: string }) => w.workflowId)).toEqual(['bad-1', 'ok-5', 'ok-4', 'ok-3', 'ok-2', 'ok-1']);
    expect(all.body.workflows[0]).toMatchObject({ status: 'ERROR', workflowName: 'Shop.order', executorId: 'dash-exec', applicationVersion: 'v2' });
    expect(all.body.workflows[1].durationMs).toBeGreaterThanOrEqual(0);
    const failed = await http().get('/ops/api/workflows?status=ERROR').expect(200);
    expect(failed.body.workflows.map((w: { workflowId: string }) => w.workflowId)).toEqual(['bad-1']);
    const prefixed = await http().get('/ops/api/workflows?idPrefix=ok-&order=asc&name=Shop.order').expect(200);
    expect(prefixed.body.workflows.map((w: { workflowId: string }) => w.workflowId)).toEqual(['ok-1', 'ok-2', 'ok-3', 'ok-4', 'ok-5']);
    const none = await http()
      .get(`/ops/api/workflows?from=${new Date(Date.now() + 60_000).toISOString()}`)
      .expect(200);
    expect(none.body.workflows).toEqual([]);
  });

  it('pages through the list with the cursor: every workflow once, in order', async () => {
    const seen: string[] = [];
    let cursor: string | null = '';
    for (let pages = 0; cursor !== null; pages++) {
      expect(pages).toBeLessThan(5);
      const page: request.Response = await http()
        .get('/ops/api/workflows')
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .expect(200);
      seen.push(...page.body.workflows.map((w: { workflowId: string }) => w.workflowId));
      cursor = page.body.nextCursor;
    }
    expect(seen).toEqual(['bad-1', 'ok-5', 'ok-4', 'ok-3', 'ok-2', 'ok-1']);
  });

  it('answers malformed filters and unknown ids with a 400 or 404 that says what is wrong', async () => {
    const status = await http().get('/ops/api/workflows?status=DONE').expect(400);
    expect(status.body.message).toContain('Unknown status "DONE"');
    expect((await http().get('/ops/api/workflows?limit=100000').expect(400)).body.message).toContain('limit must be');
    expect((await http().get('/ops/api/workflows?from=yesterday').expect(400)).body.message).toContain('from must be an ISO time');
    expect((await http().get('/ops/api/workflows?cursor=garbage').expect(400)).body.message).toBeTruthy();
    expect((await http().get('/ops/api/workflows/no-such-id').expect(404)).body.message).toContain('no-such-id');
    expect((await http().post('/ops/api/workflows/no-such-id/cancel').send({}).expect(404)).body.message).toContain('no-such-id');
  });

  it('filters the list by queue, executor, version and creation time (to, and from with to)', async () => {
    // Left waiting on a queue for an older version (no executor here takes it): no executor, version v1.
    await client.enqueue({ workflowName: 'Shop.order', queue: 'filters-q', workflowId: 'queued-v1', applicationVersion: 'v1' }, 'sku', 1);
    try {
      type Row = { workflowId: string; createdAt: number };
      const list = async (query: string): Promise<Row[]> => (await http().get(`/ops/api/workflows?${query}`).expect(200)).body.workflows;
      const ids = async (query: string) => (await list(query)).map((w) => w.workflowId);
      expect(await ids('queue=filters-q')).toEqual(['queued-v1']);
      expect(await ids('queue=nowhere')).toEqual([]);
      expect(await ids('version=v1')).toEqual(['queued-v1']);
      expect(await ids('version=v2')).toEqual(['bad-1', 'ok-5', 'ok-4', 'ok-3', 'ok-2', 'ok-1']);
      expect(await ids('executor=dash-exec')).toEqual(['bad-1', 'ok-5', 'ok-4', 'ok-3', 'ok-2', 'ok-1']);
      expect(await ids('executor=gone-exec')).toEqual([]);
      // `to` is exclusive: created before it. The oracle is the unfiltered list's own creation times.
      const all = await list('idPrefix=ok-&order=asc');
      const cut = all[2].createdAt;
      const before = all.filter((w) => w.createdAt < cut).map((w) => w.workflowId);
      expect(before.length).toBeGreaterThan(0);
      expect(await ids(`idPrefix=ok-&order=asc&to=${new Date(cut).toISOString()}`)).toEqual(before);
      expect(await ids(`idPrefix=ok-&order=asc&to=${cut}`)).toEqual(before);
      const from = all[1].createdAt;
      const to = all[4].createdAt;
      const between = all.filter((w) => w.createdAt >= from && w.createdAt < to).map((w) => w.workflowId);
      expect(between.length).toBeGreaterThan(0);
      expect(await ids(`idPrefix=ok-&order=asc&from=${from}&to=${to}`)).toEqual(between);
      expect((await http().get('/ops/api/workflows?to=soon').expect(400)).body.message).toContain('to must be an ISO time');
    } finally {
      await client.cancel('queued-v1');
    }
  });

  it('links a child workflow and its parent both ways: the parent lists it and its step names it, the child names its parent', async () => {
    await expect((await client.start(Shop, { workflowId: 'basket-1' }).basket(['pen', 'ink'])).getResult()).resolves.toEqual(['paid 10', 'paid 20']);
    const parent = (await http().get('/ops/api/workflows/basket-1').expect(200)).body;
    expect(parent.workflow).toMatchObject({ parentWorkflowId: null, output: ['paid 10', 'paid 20'] });
    expect(parent.children.map((c: { workflowId: string }) => c.workflowId).sort()).toEqual(['basket-1-1', 'basket-1-2']);
    expect(parent.children[0]).toMatchObject({ status: 'SUCCESS', workflowName: 'Shop.order' });
    expect(
      parent.steps.filter((s: { childWorkflowId: string | null }) => s.childWorkflowId).map((s: { childWorkflowId: string }) => s.childWorkflowId),
    ).toEqual(['basket-1-1', 'basket-1-2']);
    expect(parent.events).toEqual(expect.arrayContaining([{ key: 'items', value: 2 }]));
    const child = (await http().get('/ops/api/workflows/basket-1-2').expect(200)).body;
    expect(child.workflow).toMatchObject({ workflowId: 'basket-1-2', parentWorkflowId: 'basket-1', input: ['ink', 20], output: 'paid 20' });
    expect(child.children).toEqual([]);
  });

  it('shows a workflow: input, error with its stack, steps with durations, events and stream entries', async () => {
    const { body } = await http().get('/ops/api/workflows/bad-1').expect(200);
    expect(body.workflow).toMatchObject({ workflowId: 'bad-1', status: 'ERROR', input: ['broken', -1], className: 'Shop' });
    expect(body.workflow.error).toMatchObject({ name: 'RangeError', message: expect.stringContaining('Cannot charge -1') });
    expect(body.workflow.error.stack).toContain('RangeError');
    expect(body.steps.map((s: { name: string }) => s.name)).toEqual(['Shop.reserve', 'DBOS.setEvent', 'DBOS.writeStream', 'Shop.charge']);
    expect(body.steps[0]).toMatchObject({ stepId: 0, output: { item: 'broken', reserved: true }, error: null });
    expect(body.steps[0].durationMs).toBeGreaterThanOrEqual(0);
    expect(body.steps[3].error).toMatchObject({ name: 'RangeError' });
    expect(body.events).toEqual([{ key: 'stage', value: { reserved: 'broken' } }]);
    expect(body.streams).toEqual([{ key: 'progress', offset: 0, value: 'reserved', closed: false }]);
    expect(body.messages).toEqual([]);
  });

  it('cancels a running workflow, refuses to cancel it twice, resumes it, and shows its unconsumed messages', async () => {
    await client.start(Shop, { workflowId: 'wait-1' }).approval('desk');
    await waitFor(async () => (await client.listSteps('wait-1')).length >= 1);
    const cancelled = await http().post('/ops/api/workflows/wait-1/cancel').send({}).expect(200);
    expect(cancelled.body).toMatchObject({ workflowId: 'wait-1', status: 'CANCELLED' });
    expect(await statusOf('wait-1')).toBe('CANCELLED');
    const again = await http().post('/ops/api/workflows/wait-1/cancel').send({}).expect(409);
    expect(again.body.message).toContain('is CANCELLED: only ENQUEUED or PENDING');
    await client.send('wait-1', false, 'other-topic');
    const detail = await http().get('/ops/api/workflows/wait-1').expect(200);
    expect(detail.body.messages).toMatchObject([{ topic: 'other-topic', message: false }]);
    await http().post('/ops/api/workflows/wait-1/resume').send({}).expect(200);
    await client.send('wait-1', true, 'approve');
    await expect(client.retrieve('wait-1').getResult()).resolves.toBe('paid 1');
    expect((await http().post('/ops/api/workflows/wait-1/resume').send({}).expect(409)).body.message).toContain('is SUCCESS');
  });

  it('forks a workflow from a chosen step: a new workflow that reuses the steps before it', async () => {
    const forked = await http().post('/ops/api/workflows/ok-2/fork').send({ fromStep: 3 }).expect(200);
    expect(forked.body.forkId).toEqual(expect.any(String));
    await expect(client.retrieve(forked.body.forkId).getResult()).resolves.toBe('paid 2');
    const rows = await sql(`SELECT forked_from FROM ${schema}.workflow_status WHERE workflow_id = $1`, [forked.body.forkId]);
    expect(rows).toEqual([{ forked_from: 'ok-2' }]);
    expect((await http().get('/ops/api/workflows/ok-2').expect(200)).body.forks).toMatchObject([{ workflowId: forked.body.forkId }]);
    const bad = await http().post('/ops/api/workflows/ok-2/fork').send({ fromStep: 'two' }).expect(400);
    expect(bad.body.message).toContain('fromStep must be a step number from 0 to 4');
    expect(await sql(`SELECT 1 FROM ${schema}.workflow_status WHERE forked_from = 'ok-2'`)).toHaveLength(1);
  });

  it('refuses actions from another origin or without a JSON body, and nothing changes', async () => {
    await client.start(Shop, { workflowId: 'wait-2' }).approval('lamp');
    await waitFor(async () => (await statusOf('wait-2')) === 'PENDING');
    const foreign = await http().post('/ops/api/workflows/wait-2/cancel').set('Origin', 'https://evil.example').send({}).expect(403);
    expect(foreign.body.message).toContain('own origin');
    await http().post('/ops/api/workflows/wait-2/cancel').set('Sec-Fetch-Site', 'cross-site').send({}).expect(403);
    await http().post('/ops/api/workflows/wait-2/cancel').type('form').send('x=1').expect(415);
    await http().get('/ops/api/workflows/wait-2/cancel').expect(404);
    expect(await statusOf('wait-2')).toBe('PENDING');
    const host = `127.0.0.1`;
    await http()
      .post('/ops/api/workflows/wait-2/cancel')
      .set('Host', host)
      .set('Origin', `http://${host}`)
      .set('Sec-Fetch-Site', 'same-origin')
      .send({})
      .expect(200);
    expect(await statusOf('wait-2')).toBe('CANCELLED');
  });

  it('summarises queues with their limits, executors with their heartbeat, and moves a version to the current one', async () => {
    await client.enqueue({ workflowName: 'Shop.approval', queue: 'elsewhere', workflowId: 'queued-old', applicationVersion: 'v1' }, 'chair');
    const queues = await http().get('/ops/api/queues').expect(200);
    const elsewhere = queues.body.find((q: { queue: string }) => q.queue === 'elsewhere');
    expect(elsewhere).toMatchObject({ enqueued: 1, running: 0, limits: null });
    expect(elsewhere.oldestWaitingMs).toBeGreaterThanOrEqual(0);
    expect(queues.body.find((q: { queue: string }) => q.queue === 'orders')).toMatchObject({
      enqueued: 0,
      limits: { concurrency: 3, rateLimit: { limit: 10, periodMs: 1_000 } },
    });
    const executors = await http().get('/ops/api/executors').expect(200);
    expect(executors.body.currentVersion).toBe('v2');
    expect(executors.body.executors).toMatchObject([{ executorId: 'dash-exec', applicationVersion: 'v2', live: true }]);
    expect(executors.body.versions).toContainEqual({ applicationVersion: 'v1', pending: 0, enqueued: 1 });
    const moved = await http().post('/ops/api/versions/move').send({ fromVersion: 'v1' }).expect(200);
    expect(moved.body).toEqual({ moved: 1, applicationVersion: 'v2' });
    expect(await sql(`SELECT application_version FROM ${schema}.workflow_status WHERE workflow_id = 'queued-old'`)).toEqual([{ application_version: 'v2' }]);
    await http().post('/ops/api/versions/move').send({ fromVersion: 'v2' }).expect(409);
    await client.cancel('queued-old');
  });

  it('lists stranded workflows (a version no live executor runs) with whether each replays on this code, and where it diverges', async () => {
    await client.start(Shop, { workflowId: 'stranded-ok' }).approval('lamp');
    await client.start(Shop, { workflowId: 'stranded-bad' }).approval('desk');
    const reserved = async (id: string) => (await sql(`SELECT 1 FROM ${schema}.operation_outputs WHERE workflow_id = $1 AND step_id = 0`, [id])).length === 1;
    await waitFor(async () => (await reserved('stranded-ok')) && (await reserved('stranded-bad')));
    // As recorded by an older build whose executors are gone: v0, and for one of them another first step.
    await sql(`UPDATE ${schema}.workflow_status SET application_version = 'v0' WHERE workflow_id IN ('stranded-ok', 'stranded-bad')`);
    await sql(`UPDATE ${schema}.operation_outputs SET step_name = 'Shop.hold' WHERE workflow_id = 'stranded-bad' AND step_id = 0`);
    await client.enqueue({ workflowName: 'Legacy.flow', queue: 'elsewhere', workflowId: 'stranded-gone', applicationVersion: 'v0' });
    await sql(`UPDATE ${schema}.workflow_status SET status = 'PENDING', queue_name = NULL WHERE workflow_id = 'stranded-gone'`);
    const checkpoints = () => sql(`SELECT count(*)::int AS n FROM ${schema}.operation_outputs WHERE workflow_id IN ('stranded-ok', 'stranded-bad')`);
    const before = await checkpoints();
    try {
      const { body } = await http().get('/ops/api/executors').expect(200);
      const byId = new Map(body.stranded.map((w: { workflowId: string }) => [w.workflowId, w]));
      expect(byId.get('stranded-ok')).toMatchObject({ workflowName: 'Shop.approval', applicationVersion: 'v0', verdict: 'replays' });
      expect(byId.get('stranded-bad')).toMatchObject({
        verdict: 'diverges',
        divergence: { stepId: 0, recordedName: 'Shop.hold', calledName: 'Shop.reserve' },
      });
      expect(byId.get('stranded-gone')).toMatchObject({ workflowName: 'Legacy.flow', verdict: 'unknown' });
      expect(body.stranded.every((w: { applicationVersion: string }) => w.applicationVersion !== 'v2')).toBe(true);
      // A dry replay writes nothing: no checkpoint, and both stay on their own version.
      expect(await checkpoints()).toEqual(before);
      expect(await sql(`SELECT DISTINCT application_version FROM ${schema}.workflow_status WHERE workflow_id LIKE 'stranded-%'`)).toEqual([
        { application_version: 'v0' },
      ]);
    } finally {
      await client.cancel(['stranded-ok', 'stranded-bad', 'stranded-gone']);
    }
  });

  it('counts started, succeeded and failed workflows and step latencies for the overview', async () => {
    const { body } = await http().get('/ops/api/overview').expect(200);
    const sum = (key: string) => body.lastHour.buckets.reduce((n: number, b: Record<string, number>) => n + b[key], 0);
    expect(sum('started')).toBeGreaterThanOrEqual(6);
    expect(sum('succeeded')).toBeGreaterThanOrEqual(5);
    expect(sum('failed')).toBeGreaterThanOrEqual(1);
    expect(body.stepLatencies).toContainEqual(expect.objectContaining({ workflowName: 'Shop.order', p50: expect.any(Number) }));
  });

  it('sends each change of a workflow over the live feed (SSE) as it happens', async () => {
    const server = app.getHttpServer() as Server;
    if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const received: string[] = [];
    const feed = await new Promise<IncomingMessage>((resolve, reject) => get(`http://127.0.0.1:${port}/ops/api/feed`, resolve).on('error', reject));
    try {
      expect(feed.headers['content-type']).toMatch(/text\/event-stream/);
      feed.setEncoding('utf8');
      feed.on('data', (chunk: string) => received.push(chunk));
      // The headers came: the feed was subscribed before they were sent, and its reads look 5 s back, so no wait is needed.
      await client.start(Shop, { workflowId: 'live-1' }).approval('pen');
      await waitFor(() => received.join('').includes('"workflowId":"live-1","status":"PENDING"'), 10_000);
      await client.cancel('live-1');
      await waitFor(() => received.join('').includes('"workflowId":"live-1","status":"CANCELLED"'), 10_000);
      expect(received.join('')).toMatch(/event: workflow\n/);
    } finally {
      feed.destroy();
    }
  });

  it("shows a workflow's attributes in its detail (null without any)", async () => {
    await (await client.start(Shop, { workflowId: 'attr-1', attributes: { tenant: 'acme', orderId: 'o-1' } }).order('labelled', 1)).getResult();
    expect((await http().get('/ops/api/workflows/attr-1').expect(200)).body.workflow.attributes).toEqual({ tenant: 'acme', orderId: 'o-1' });
    expect((await http().get('/ops/api/workflows/bad-1').expect(200)).body.workflow.attributes).toBeNull();
  });

  it('filters the list by attributes (every key=value pair), and answers a malformed filter with a 400', async () => {
    await (await client.start(Shop, { workflowId: 'attr-eu', attributes: { tenant: 'acme', region: 'eu' } }).order('eu', 1)).getResult();
    await (await client.start(Shop, { workflowId: 'attr-us', attributes: { tenant: 'acme', region: 'us' } }).order('us', 1)).getResult();
    const ids = async (query: string) =>
      (await http().get(`/ops/api/workflows?${query}`).expect(200)).body.workflows.map((w: { workflowId: string }) => w.workflowId);
    expect(await ids('attr=tenant%3Dacme,region%3Deu')).toEqual(['attr-eu']);
    expect(await ids('attr=tenant%3Dacme&idPrefix=attr-&order=asc')).toEqual(expect.arrayContaining(['attr-eu', 'attr-us']));
    expect(await ids('attr=tenant%3Dnobody')).toEqual([]);
    const list = await http().get('/ops/api/workflows?attr=tenant%3Dacme,region%3Deu').expect(200);
    expect(list.body.workflows[0].attributes).toEqual({ tenant: 'acme', region: 'eu' });
    const bad = await http().get('/ops/api/workflows?attr=tenant').expect(400);
    expect(bad.body.message).toContain('attr must be key=value pairs');
  });

  it('shows the failed attempts of a retried step in its timeline, and deletes them with the workflow', async () => {
    Shop.shipFailures.set('d-1', 2);
    await expect((await client.start(Shop, { workflowId: 'deliver-1' }).delivery('d-1')).getResult()).resolves.toBe('shipped d-1');
    const { body } = await http().get('/ops/api/workflows/deliver-1').expect(200);
    const [reserve, ship] = body.steps as { name: string; error: unknown; failedAttempts: { attempt: number; durationMs: number; error: unknown }[] }[];
    expect(reserve.failedAttempts).toEqual([]);
    expect(ship).toMatchObject({ name: 'Shop.ship', error: null });
    expect(ship.failedAttempts).toMatchObject([
      { attempt: 1, error: { name: 'Error', message: 'carrier timeout for d-1 (2 left)' } },
      { attempt: 2, error: { name: 'Error', message: 'carrier timeout for d-1 (1 left)' } },
    ]);
    expect(ship.failedAttempts[0].durationMs).toBeGreaterThanOrEqual(0);
    await client.delete('deliver-1');
    expect(await sql(`SELECT count(*)::int AS n FROM ${schema}.step_attempts WHERE workflow_id = 'deliver-1'`)).toEqual([{ n: 0 }]);
  });

  it('reveals no database URL or password in anything it serves', async () => {
    const texts = await Promise.all(
      ['/ops', '/ops/api/config', '/ops/api/workflows', '/ops/api/workflows/bad-1', '/ops/api/queues', '/ops/api/executors', '/ops/api/overview'].map(
        async (path) => (await http().get(path).expect(200)).text,
      ),
    );
    for (const text of texts) expect(text).not.toMatch(/postgres(ql)?:\/\/|password/i);
  });
});

@Injectable()
class RefuseAll implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

describe('dashboard access', () => {
  const schemas = [uniqueSchema('dash_acl'), uniqueSchema('dash_ro')];
  let guarded: INestApplication;
  let readOnly: INestApplication;
  const statusOf = async (schema: string, id: string) =>
    (await sql<{ status: string }>(`SELECT status FROM ${schema}.workflow_status WHERE workflow_id = $1`, [id]))[0]?.status;
  const forksOf = (schema: string) => sql(`SELECT 1 FROM ${schema}.workflow_status WHERE forked_from = 'held'`);

  /** A workflow waiting for a message, PENDING until then. */
  async function hold(app: INestApplication, schema: string): Promise<void> {
    await app.get(WorkflowClient).start(Shop, { workflowId: 'held' }).approval('box');
    await waitFor(async () => (await statusOf(schema, 'held')) === 'PENDING');
  }

  beforeAll(async () => {
    guarded = await startDashboardApp(schemas[0], { guards: [RefuseAll] });
    readOnly = await startDashboardApp(schemas[1], { path: 'ro', readOnly: true });
    await hold(guarded, schemas[0]);
    await hold(readOnly, schemas[1]);
  });
  afterAll(async () => {
    await guarded.close();
    await readOnly.close();
    for (const schema of schemas) await dropSchema(schema);
  });

  it('runs the guards before every route: page, assets, API, feed and actions all answer 403 and nothing runs', async () => {
    const http = request(guarded.getHttpServer() as App);
    const reads = ['/dbos', '/dbos/assets/app.js', '/dbos/api/config', '/dbos/api/workflows', '/dbos/api/workflows/held', '/dbos/api/feed'];
    for (const path of [...reads, '/dbos/api/queues', '/dbos/api/executors', '/dbos/api/overview']) await http.get(path).expect(403);
    for (const action of ['cancel', 'resume', 'fork']) await http.post(`/dbos/api/workflows/held/${action}`).send({ fromStep: 0 }).expect(403);
    await http.post('/dbos/api/versions/move').send({ fromVersion: null }).expect(403);
    expect(await statusOf(schemas[0], 'held')).toBe('PENDING');
    expect(await forksOf(schemas[0])).toEqual([]);
  });

  it('read-only: says so to the page and refuses every action with 403; reading still works', async () => {
    const http = request(readOnly.getHttpServer() as App);
    expect((await http.get('/ro/api/config').expect(200)).body).toMatchObject({ readOnly: true });
    await http.get('/ro/api/workflows/held').expect(200);
    const refused = await http.post('/ro/api/workflows/held/cancel').send({}).expect(403);
    expect(refused.body.message).toContain('read-only');
    await http.post('/ro/api/workflows/held/fork').send({ fromStep: 0 }).expect(403);
    await http.post('/ro/api/versions/move').send({ fromVersion: null }).expect(403);
    expect(await statusOf(schemas[1], 'held')).toBe('PENDING');
    expect(await forksOf(schemas[1])).toEqual([]);
  });
});
