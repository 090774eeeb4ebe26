import { Controller, Get, type INestApplication } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DbosConflictError, DbosDatabaseUnavailableError, DbosDatabaseUnavailableFilter, DbosExceptionFilter, DbosNondeterminismError } from '../../lib';

@Controller('orders')
class DownController {
  @Get()
  list(): never {
    throw new DbosDatabaseUnavailableError('postgres://app:***@db:5432/app', 'connect ECONNREFUSED');
  }

  @Get('boom')
  boom(): never {
    throw new Error('something else');
  }
}

describe('DbosDatabaseUnavailableFilter', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [DownController] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalFilters(new DbosDatabaseUnavailableFilter(app.get(HttpAdapterHost)));
    await app.init();
  });
  afterAll(() => app.close());

  it('answers 503 with Retry-After while the workflow database is unavailable', async () => {
    const response = await request(app.getHttpServer()).get('/orders').expect(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'The workflow database at postgres://app:***@db:5432/app is unavailable: connect ECONNREFUSED',
    });
  });

  it('leaves other errors to Nest', async () => {
    await request(app.getHttpServer()).get('/orders/boom').expect(500);
  });
});

@Controller('errors')
class ErrorsController {
  @Get('conflict')
  conflict(): never {
    throw new DbosConflictError('Workflow id "w" is already used by a "A.run" workflow; it cannot start "B.run". Use another workflow id.');
  }

  @Get('nondeterministic')
  nondeterministic(): never {
    throw new DbosNondeterminismError('w', 2, 'A.a', 'A.b');
  }

  @Get('down')
  down(): never {
    throw new DbosDatabaseUnavailableError('postgres://app:***@db:5432/app', 'connect ECONNREFUSED');
  }
}

describe.each([
  ['with the HttpAdapterHost', (app: INestApplication) => new DbosExceptionFilter(app.get(HttpAdapterHost))],
  ['without arguments', () => new DbosExceptionFilter()],
])('DbosExceptionFilter registered with useGlobalFilters, %s', (_how, makeFilter) => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [ErrorsController] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalFilters(makeFilter(app));
    await app.init();
  });
  afterAll(() => app.close());

  it('maps a DbosConflictError to 409 with its message', async () => {
    const response = await request(app.getHttpServer()).get('/errors/conflict').expect(409);
    expect(response.body).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'Workflow id "w" is already used by a "A.run" workflow; it cannot start "B.run". Use another workflow id.',
    });
  });

  it('maps DbosDatabaseUnavailableError to 503 with Retry-After', async () => {
    const response = await request(app.getHttpServer()).get('/errors/down').expect(503);
    expect(response.headers['retry-after']).toBe('5');
  });

  it('leaves a DbosNondeterminismError to Nest: 500 without its message', async () => {
    const response = await request(app.getHttpServer()).get('/errors/nondeterministic').expect(500);
    expect(response.body).toEqual({ statusCode: 500, message: 'Internal server error' });
  });
});
