import { Controller, Get, type INestApplication } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DbosDatabaseUnavailableError, DbosDatabaseUnavailableFilter } from '../lib';

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
