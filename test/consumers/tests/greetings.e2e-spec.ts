// A workflow e2e test as a user writes it in a nest new project: the app module under
// @nestjs/testing, HTTP through supertest, a real Postgres (DATABASE_URL). Run by Vitest in the
// ES-module consumer and by Jest (preset: 'nestjs-dbos') in the CommonJS one.
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from '../src/app.module.js';

describe('greetings (e2e)', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
  }, 60_000);

  afterAll(async () => {
    await app?.close();
  });

  it('runs a workflow with a step and a transaction to its result', async () => {
    const started = await request(app.getHttpServer()).post('/greetings').send({ name: 'tests' }).expect(201);
    const result = await request(app.getHttpServer()).get(`/greetings/${started.body.workflowId}/result`).expect(200);
    expect(result.body.greeting).toBe('Hello, tests!');
    expect(typeof result.body.databaseTime).toBe('string');
  }, 60_000);
});
