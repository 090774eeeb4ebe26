import { Controller, Get, Injectable, Module, Param, Sse, type INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DbosContext, DbosExceptionFilter, DbosModule, DbosSerializationError, Step, Workflow, WorkflowClient } from '../../lib';
import { deserialize, serialize } from '../../lib/serialization/value.codec';
import { dropSchema, uniqueSchema, databaseOptions } from '../support/database';

/** What ValidationPipe({ transform: true }) hands a controller: an instance of a data class. */
class CreateOrderDto {
  orderId!: string;
  items!: { sku: string; quantity: number }[];
  placedAt!: Date;
}

/** A TypeORM-style entity: decorated fields, no behaviour. */
class OrderEntity {
  id = 0;
  total = 0n;
}

class Money {
  constructor(readonly cents: number) {}
  add(other: Money): Money {
    return new Money(this.cents + other.cents);
  }
}

class Temperature {
  constructor(private readonly celsius: number) {}
  get fahrenheit(): number {
    return this.celsius * 1.8 + 32;
  }
}

function dto(orderId: string): CreateOrderDto {
  return Object.assign(new CreateOrderDto(), { orderId, items: [{ sku: 'tea', quantity: 2 }], placedAt: new Date('2026-12-01T10:00:00Z') });
}

describe('payload shapes', () => {
  it('stores an instance of a plain data class (a DTO, an entity without behaviour) as a plain object', () => {
    const back = deserialize<CreateOrderDto>(serialize(dto('o-1')));
    expect(back).toEqual({ orderId: 'o-1', items: [{ sku: 'tea', quantity: 2 }], placedAt: new Date('2026-12-01T10:00:00Z') });
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(deserialize(serialize({ row: Object.assign(new OrderEntity(), { id: 7, total: 12n }) }))).toEqual({ row: { id: 7, total: 12n } });
  });

  it('refuses an instance whose class has methods or accessors, naming them', () => {
    expect(() => serialize({ price: new Money(5) })).toThrow(DbosSerializationError);
    expect(() => serialize({ price: new Money(5) })).toThrow(/instance of Money, whose class has methods \(add\)/);
    expect(() => serialize(new Temperature(20))).toThrow(/instance of Temperature, whose class has methods \(fahrenheit\)/);
  });
});

@Injectable()
class Orders {
  constructor(private readonly dbos: DbosContext) {}

  @Step() async total(order: CreateOrderDto): Promise<number> {
    return order.items.reduce((sum, item) => sum + item.quantity, 0);
  }

  @Workflow() async place(order: CreateOrderDto): Promise<{ orderId: string; count: number; placedAt: Date }> {
    const count = await this.total(order);
    for (let i = 1; i <= 3; i++) await this.dbos.writeStream('progress', { stage: i });
    await this.dbos.closeStream('progress');
    return { orderId: order.orderId, count, placedAt: order.placedAt };
  }

  @Workflow() async refuse(orderId: string): Promise<void> {
    throw new Error(`order ${orderId} was refused`);
  }
}

@Controller('orders')
class OrdersController {
  constructor(private readonly client: WorkflowClient) {}

  @Get(':id/status')
  status(@Param('id') id: string) {
    return this.client.getStatus(id);
  }

  @Sse(':id/progress')
  progress(@Param('id') id: string) {
    return this.client.sse$(id, 'progress');
  }
}

describe('payload and status shapes over HTTP', () => {
  const schema = uniqueSchema('shapes');
  let app: INestApplication;
  let client: WorkflowClient;

  beforeAll(async () => {
    @Module({
      imports: [DbosModule.forRoot({ database: databaseOptions(), schema, shutdownTimeoutMs: 2_000 })],
      controllers: [OrdersController],
      providers: [Orders, { provide: APP_FILTER, useClass: DbosExceptionFilter }],
    })
    class ShapesModule {}
    const moduleRef = await Test.createTestingModule({ imports: [ShapesModule] }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  it('a workflow started with a DTO instance runs, and its input and output come back as plain data', async () => {
    const handle = await client.start(Orders, { workflowId: 'dto-1' }).place(dto('dto-1'));
    expect(await handle.getResult()).toEqual({ orderId: 'dto-1', count: 2, placedAt: new Date('2026-12-01T10:00:00Z') });
    const status = await client.getStatus('dto-1', { loadPayloads: true });
    expect(status!.input).toEqual([{ orderId: 'dto-1', items: [{ sku: 'tea', quantity: 2 }], placedAt: new Date('2026-12-01T10:00:00Z') }]);
  });

  it("a failed workflow's status renders its error as { name, message } in JSON, and getResult still throws the error itself", async () => {
    const handle = await client.start(Orders, { workflowId: 'refused-1' }).refuse('r-1');
    await expect(handle.getResult()).rejects.toThrow('order r-1 was refused');
    const res = await request(app.getHttpServer()).get('/orders/refused-1/status').expect(200);
    expect(res.body).toMatchObject({ workflowId: 'refused-1', status: 'ERROR', error: { name: 'Error', message: 'order r-1 was refused' } });
    const status = await client.getStatus('refused-1');
    expect(status!.error).toBeInstanceOf(Error);
  });

  it('sse$ sends each stream value as an event with its data and offset, and ends with the stream', async () => {
    await (await client.start(Orders, { workflowId: 'sse-1' }).place(dto('sse-1'))).getResult();
    const res = await request(app.getHttpServer())
      .get('/orders/sse-1/progress')
      .buffer(true)
      .parse((response, done) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => done(null, text));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    const events = (res.body as string)
      .split('\n\n')
      .map((e) => e.trim())
      .filter((e) => e.includes('data:'));
    expect(events).toEqual([0, 1, 2].map((i) => `id: ${i}\ndata: {"stage":${i + 1}}`));
  });

  it('sse$ of an unknown workflow answers 404 before any event is sent', async () => {
    const res = await request(app.getHttpServer()).get('/orders/nobody/progress');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, message: 'No workflow has the id "nobody".' });
  });
});
