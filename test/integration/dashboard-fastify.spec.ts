import { ForbiddenException, Injectable, type CanActivate, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { App } from 'supertest/types';
import { WorkflowClient } from '../../lib';
import { dropSchema, sql, uniqueSchema } from '../support/database';
import { Shop, startDashboardApp } from '../support/dashboard-app';
import { waitFor } from '../support/wait';

/** The dashboard on Nest's Fastify adapter: the same routes, headers, actions, feed and guards as on Express. */
describe('dashboard on Fastify', () => {
  const schema = uniqueSchema('dash_fastify');
  let app: INestApplication;
  let client: WorkflowClient;
  const http = () => request(app.getHttpServer() as App);
  const statusOf = async (id: string) =>
    (await sql<{ status: string }>(`SELECT status FROM ${schema}.workflow_status WHERE workflow_id = $1`, [id]))[0]?.status;

  beforeAll(async () => {
    app = await startDashboardApp(schema, { path: '/ops' }, [], new FastifyAdapter());
    client = app.get(WorkflowClient);
    for (let i = 1; i <= 3; i++) await (await client.start(Shop, { workflowId: `fok-${i}` }).order(`item-${i}`, i)).getResult();
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
  });

  it('serves the page and its assets with their headers, a 304 for a known ETag, and 404 for anything else', async () => {
    const page = await http().get('/ops').expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('<base href="/ops/" />');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const script = await http().get('/ops/assets/app.js').expect(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.headers['cache-control']).toContain('max-age=3600');
    expect(script.text).toContain('function');
    await http().get('/ops/assets/app.js').set('If-None-Match', script.headers.etag).expect(304);
    await http().get('/ops/assets/..%2Fdashboard.module.ts').expect(404);
  });

  it('lists and shows workflows through the API', async () => {
    const all = await http().get('/ops/api/workflows?idPrefix=fok-&order=asc').expect(200);
    expect(all.body.workflows.map((w: { workflowId: string }) => w.workflowId)).toEqual(['fok-1', 'fok-2', 'fok-3']);
    const detail = await http().get('/ops/api/workflows/fok-2').expect(200);
    expect(detail.body.workflow).toMatchObject({ workflowId: 'fok-2', status: 'SUCCESS', input: ['item-2', 2] });
    expect(detail.body.steps.map((s: { name: string }) => s.name)).toEqual(['Shop.reserve', 'DBOS.setEvent', 'DBOS.writeStream', 'Shop.charge']);
    await http().get('/ops/api/workflows/nope').expect(404);
    await http().get('/ops/api/workflows?status=SOMETIMES').expect(400);
  });

  it('runs an action only as a same-origin JSON POST', async () => {
    await client.start(Shop, { workflowId: 'fwait-1' }).approval('desk');
    await waitFor(async () => (await statusOf('fwait-1')) === 'PENDING', { what: 'fwait-1 to run' });
    await http().post('/ops/api/workflows/fwait-1/cancel').set('Origin', 'https://evil.example').send({}).expect(403);
    await http().post('/ops/api/workflows/fwait-1/cancel').type('form').send('x=1').expect(415);
    expect(await statusOf('fwait-1')).toBe('PENDING');
    const cancelled = await http().post('/ops/api/workflows/fwait-1/cancel').send({}).expect(200);
    expect(cancelled.body).toMatchObject({ workflowId: 'fwait-1', status: 'CANCELLED' });
    expect(await statusOf('fwait-1')).toBe('CANCELLED');
  });

  it('streams changes over the live feed', async () => {
    const address = await app.listen(0, '127.0.0.1').then(() => app.getHttpServer().address() as AddressInfo);
    const received: string[] = [];
    const feed = await new Promise<IncomingMessage>((resolve, reject) => get(`http://127.0.0.1:${address.port}/ops/api/feed`, resolve).on('error', reject));
    try {
      expect(feed.headers['content-type']).toMatch(/text\/event-stream/);
      feed.setEncoding('utf8');
      feed.on('data', (chunk: string) => received.push(chunk));
      await client.start(Shop, { workflowId: 'flive-1' }).approval('pen');
      await waitFor(() => received.join('').includes('"workflowId":"flive-1","status":"PENDING"'), { what: 'the feed to send flive-1' });
    } finally {
      feed.destroy();
    }
  });
});

@Injectable()
class RefuseAll implements CanActivate {
  canActivate(): boolean {
    throw new ForbiddenException('not you');
  }
}

describe('dashboard on Fastify behind a guard', () => {
  const schema = uniqueSchema('dash_fastify_guard');
  let app: INestApplication;
  beforeAll(async () => {
    app = await startDashboardApp(schema, { guards: [RefuseAll] }, [RefuseAll], new FastifyAdapter());
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
  });

  it('answers 403 on every route, actions included', async () => {
    const http = request(app.getHttpServer() as App);
    for (const path of ['/dbos', '/dbos/assets/app.js', '/dbos/api/config', '/dbos/api/workflows', '/dbos/api/feed', '/dbos/api/queues']) {
      await http.get(path).expect(403);
    }
    for (const action of ['cancel', 'resume', 'fork']) await http.post(`/dbos/api/workflows/x/${action}`).send({ fromStep: 0 }).expect(403);
  });
});
