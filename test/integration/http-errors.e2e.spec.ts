import { Body, Controller, Get, Injectable, Module, Param, Post, Query, Sse, type INestApplication, type MessageEvent } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { map, type Observable } from 'rxjs';
import request from 'supertest';
import type { App } from 'supertest/types';
import { DbosContext, DbosExceptionFilter, DbosModule, Workflow, WorkflowClient, type DbosModuleOptions } from '../../lib';
import { databaseUrl, dropSchema, uniqueSchema } from '../support/database';
import { FaultProxy } from '../support/fault-proxy';

@Injectable()
class Jobs {
  constructor(private readonly dbos: DbosContext) {}

  @Workflow()
  async echo(value: unknown): Promise<unknown> {
    return value;
  }

  @Workflow()
  async fail(): Promise<never> {
    throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
  }

  @Workflow()
  async waitForGo(): Promise<string | null> {
    return this.dbos.recv<string>('go', { timeoutMs: 600_000 });
  }

  @Workflow()
  async count(to: number): Promise<void> {
    for (let i = 1; i <= to; i++) await this.dbos.writeStream('numbers', i);
    await this.dbos.closeStream('numbers');
  }
}

/** Each route lets an error of the package reach the HTTP layer, as application code would. */
@Controller('jobs')
class JobsController {
  constructor(private readonly client: WorkflowClient) {}

  @Post(':workflowId/echo')
  async echo(@Param('workflowId') workflowId: string, @Body() body: { value: unknown; asFunction?: boolean }): Promise<{ workflowId: string }> {
    const value = body.asFunction ? () => body.value : body.value;
    return { workflowId: (await this.client.start(Jobs, { workflowId }).echo(value)).workflowId };
  }

  @Post(':workflowId/fail')
  async fail(@Param('workflowId') workflowId: string): Promise<{ workflowId: string }> {
    return { workflowId: (await this.client.start(Jobs, { workflowId }).fail()).workflowId };
  }

  @Post(':workflowId/queued')
  async queued(@Param('workflowId') workflowId: string, @Query('queue') queue: string): Promise<{ workflowId: string }> {
    return { workflowId: (await this.client.start(Jobs, { workflowId, queue }).echo(1)).workflowId };
  }

  @Get(':workflowId')
  status(@Param('workflowId') workflowId: string): Promise<unknown> {
    return this.client.retrieve(workflowId).getStatusOrThrow();
  }

  @Post(':workflowId/wait')
  async wait(@Param('workflowId') workflowId: string): Promise<{ workflowId: string }> {
    return { workflowId: (await this.client.start(Jobs, { workflowId }).waitForGo()).workflowId };
  }

  @Post(':workflowId/count')
  async count(@Param('workflowId') workflowId: string, @Query('to') to: string): Promise<{ workflowId: string }> {
    return { workflowId: (await this.client.start(Jobs, { workflowId }).count(Number(to))).workflowId };
  }

  @Post(':workflowId/cancel')
  async cancel(@Param('workflowId') workflowId: string): Promise<void> {
    await this.client.cancel(workflowId);
  }

  @Get(':workflowId/result')
  result(@Param('workflowId') workflowId: string, @Query('waitMs') waitMs?: string): Promise<unknown> {
    return this.client.retrieve(workflowId).getResult({ timeoutMs: waitMs === undefined ? undefined : Number(waitMs) });
  }

  @Get()
  list(): Promise<unknown> {
    return this.client.list({ limit: 10 });
  }

  @Sse(':workflowId/numbers')
  async numbers(@Param('workflowId') workflowId: string): Promise<Observable<MessageEvent>> {
    return (await this.client.openStream$<number>(workflowId, 'numbers')).pipe(map((n) => ({ data: { n } })));
  }
}

async function startApp(options: DbosModuleOptions): Promise<INestApplication> {
  @Module({
    imports: [DbosModule.forRoot({ shutdownTimeoutMs: 1_000, maxPayloadBytes: 1_000, ...options })],
    controllers: [JobsController],
    providers: [Jobs, { provide: APP_FILTER, useClass: DbosExceptionFilter }],
  })
  class JobsAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [JobsAppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

function sseText(req: request.Test): request.Test {
  return req.buffer(true).parse((res, done) => {
    let text = '';
    res.on('data', (chunk: Buffer) => (text += chunk.toString()));
    res.on('end', () => done(null, text));
  });
}

describe('DbosExceptionFilter: errors of the package as HTTP statuses', () => {
  const schema = uniqueSchema('http_errors');
  let proxy: FaultProxy;
  let app: INestApplication;
  let http: App;

  beforeAll(async () => {
    const target = new URL(databaseUrl());
    proxy = await FaultProxy.start({ target: { host: target.hostname, port: Number(target.port || 5432) } });
    app = await startApp({ database: { url: proxy.url(databaseUrl()), startupRetryMs: 1_000, statementTimeoutMs: 2_000 }, schema });
    http = app.getHttpServer();
  });

  afterAll(async () => {
    await proxy?.heal().catch(() => undefined);
    await app?.close();
    await proxy?.close();
    await dropSchema(schema);
  });

  it('the result of an unknown workflow is a 404 with the message of DbosNotFoundError', async () => {
    const response = await request(http).get('/jobs/never-started/result').expect(404);

    expect(response.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'No workflow has the id "never-started".' });
  });

  it('a workflow id already used by another workflow is a 409 (DbosConflictError)', async () => {
    await request(http).post('/jobs/taken/wait').expect(201);

    const response = await request(http).post('/jobs/taken/echo').send({ value: 1 }).expect(409);

    expect(response.body).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: expect.stringContaining('Workflow id "taken" is already used by a "Jobs.waitForGo" workflow'),
    });
  });

  it('an invalid workflow id is a 400 (DbosInvalidArgumentError)', async () => {
    const response = await request(http)
      .post(`/jobs/${'x'.repeat(300)}/echo`)
      .send({ value: 1 })
      .expect(400);

    expect(response.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.stringMatching(/is not valid: use a non-empty string of at most 255 characters/),
    });
  });

  it('an argument that cannot be serialized is a 400 (DbosSerializationError)', async () => {
    const response = await request(http).post('/jobs/fn-arg/echo').send({ value: 1, asFunction: true }).expect(400);

    expect(response.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.stringMatching(/^Cannot serialize the arguments of workflow Jobs\.echo/),
    });
  });

  it('an argument over maxPayloadBytes is a 413 (DbosPayloadTooLargeError), and nothing is started', async () => {
    const response = await request(http)
      .post('/jobs/too-big/echo')
      .send({ value: 'x'.repeat(2_000) })
      .expect(413);

    expect(response.body).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: expect.stringMatching(/bytes serialized, over the limit of 1000 \(maxPayloadBytes\)/),
    });
    await request(http).get('/jobs/too-big/result').expect(404);
  });

  it('a getResult whose wait runs out is a 504 (DbosTimeoutError)', async () => {
    await request(http).post('/jobs/slow/wait').expect(201);

    const response = await request(http).get('/jobs/slow/result?waitMs=200').expect(504);

    expect(response.body).toEqual({
      statusCode: 504,
      error: 'Gateway Timeout',
      message: 'Workflow "slow": no result within the wait given to getResult (still PENDING).',
    });
  });

  it('the result of a cancelled workflow is a 409 naming the workflow and its status', async () => {
    await request(http).post('/jobs/to-cancel/wait').expect(201);
    await request(http).post('/jobs/to-cancel/cancel').expect(201);

    const response = await request(http).get('/jobs/to-cancel/result').expect(409);

    expect(response.body).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'Workflow "to-cancel" was cancelled. Resume it with WorkflowClient.resume() to continue it.',
      workflowId: 'to-cancel',
      workflowStatus: 'CANCELLED',
      errorName: 'DbosWorkflowCancelledError',
    });
  });

  it('the result of a workflow that ended in ERROR is a 422 with the recorded error name and message', async () => {
    await request(http).post('/jobs/failing/fail').expect(201);

    const response = await request(http).get('/jobs/failing/result').expect(422);

    expect(response.body).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: 'fetch failed',
      workflowId: 'failing',
      workflowStatus: 'ERROR',
      errorName: 'TypeError',
    });
  });

  it("a failed workflow's status carries the recorded error with its cause chain (name, message, code)", async () => {
    await request(http).post('/jobs/failing-status/fail').expect(201);
    await request(http).get('/jobs/failing-status/result').expect(422);

    const response = await request(http).get('/jobs/failing-status').expect(200);

    expect(response.body).toMatchObject({
      workflowId: 'failing-status',
      status: 'ERROR',
      error: { name: 'TypeError', message: 'fetch failed', cause: { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED' } },
    });
  });

  it('the status of an unknown workflow through getStatusOrThrow() is a 404', async () => {
    const response = await request(http).get('/jobs/no-such-status').expect(404);

    expect(response.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'No workflow has the id "no-such-status".' });
  });

  it('a queue the app does not declare, named in the request, is a 400 (DbosQueueNotDeclaredError) and starts nothing', async () => {
    const response = await request(http).post('/jobs/queued-nowhere/queued?queue=nowhere').expect(400);

    expect(response.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Queue "nowhere" is not declared in this app: add it to DbosModule.forRoot({ queues }) or register it at runtime.',
    });
    await request(http).get('/jobs/queued-nowhere').expect(404);
  });

  it('a stream of an unknown workflow is a 404 before any event, not an error event in a 200', async () => {
    const response = await request(http).get('/jobs/no-such-workflow/numbers').expect(404);

    expect(response.headers['content-type']).toMatch(/application\/json/);
    expect(response.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'No workflow has the id "no-such-workflow".' });
  });

  it('a stream of a known workflow is a 200 event stream of its values', async () => {
    await request(http).post('/jobs/counter/count?to=3').expect(201);

    const response = await sseText(request(http).get('/jobs/counter/numbers')).expect(200);

    expect(response.headers['content-type']).toMatch(/text\/event-stream/);
    expect(
      String(response.body)
        .split('\n')
        .filter((line) => line.startsWith('data: ')),
    ).toEqual(['data: {"n":1}', 'data: {"n":2}', 'data: {"n":3}']);
  });

  it('with the database unreachable, a request is a 503 with Retry-After (DbosDatabaseUnavailableError)', async () => {
    await proxy.refuse();
    proxy.cut();
    try {
      const response = await request(http).get('/jobs').expect(503);

      expect(response.headers['retry-after']).toBe('5');
      expect(response.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: expect.stringMatching(/^The workflow database at .* is unavailable: /),
      });
    } finally {
      await proxy.heal();
    }
  });
});
