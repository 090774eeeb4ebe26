import { randomBytes } from 'node:crypto';
import { BadRequestException, Controller, Injectable, Module, type INestApplication, type PipeTransform, type Type } from '@nestjs/common';
import { EventPattern, Payload, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import * as amqp from 'amqplib';
import * as mqtt from 'mqtt';
import { connect, type NatsConnection } from 'nats';
import { DbosConfigurationError, DbosModule, DurableHandler, JetStreamServer, WorkflowClient } from '../../lib';
import { dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

const run = randomBytes(4).toString('hex');
const RMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';

class OrderCreated {
  orderId!: string;
}

/** The handler's validation (a pipe on @Payload, as ValidationPipe is). */
class OrderCreatedPipe implements PipeTransform {
  transform(value: unknown): OrderCreated {
    if (typeof (value as OrderCreated | null)?.orderId !== 'string') throw new BadRequestException('orderId must be a string');
    return value as OrderCreated;
  }
}

@Injectable()
class Runs {
  readonly seen: string[] = [];
  release?: () => void;
}

@Controller()
class OrderEvents {
  constructor(private readonly runs: Runs) {}

  @EventPattern('orders.created')
  @DurableHandler<OrderCreated>({ key: (data) => data.orderId })
  async onOrderCreated(@Payload(new OrderCreatedPipe()) data: OrderCreated): Promise<string> {
    this.runs.seen.push(`created ${data.orderId}`);
    return data.orderId;
  }

  @EventPattern('orders.paid')
  @DurableHandler()
  async onOrderPaid(data: { orderId: string }): Promise<void> {
    this.runs.seen.push(`paid ${data.orderId}`);
  }

  @EventPattern('orders.cancelled')
  @DurableHandler({ queue: 'order-events' })
  async onOrderCancelled(data: { orderId: string }): Promise<void> {
    this.runs.seen.push(`cancelled ${data.orderId}`);
  }

  @EventPattern('orders.shipped')
  @DurableHandler({ awaitCompletion: true })
  async onOrderShipped(data: { orderId: string }): Promise<void> {
    await new Promise<void>((resolve) => (this.runs.release = resolve));
    this.runs.seen.push(`shipped ${data.orderId}`);
  }
}

/**
 * A hybrid app whose microservice starts before the module initializes (messages may arrive
 * first). `initFirst`: the other order, for apps the startup checks refuse, so that no broker
 * channel is still opening when the refused app closes.
 */
async function hybridApp(schema: string, microservice: MicroserviceOptions, controllers: Type[] = [OrderEvents], initFirst = false): Promise<INestApplication> {
  @Module({
    imports: [DbosModule.forRoot({ database: databaseOptions(), schema, shutdownTimeoutMs: 2_000, queues: [{ name: 'order-events', workerConcurrency: 1 }] })],
    controllers,
    providers: [Runs],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  app.connectMicroservice(microservice);
  try {
    if (initFirst) await app.init();
    await app.startAllMicroservices();
    if (!initFirst) await app.init();
  } catch (err) {
    // An app refused at startup still holds its broker connections: close them, as a process exit would.
    await app.close().catch(() => undefined);
    throw err;
  }
  return app;
}

/** The result of a workflow a message starts (its row appears once the message arrived). */
async function resultOf(app: INestApplication, workflowId: string): Promise<unknown> {
  const client = app.get(WorkflowClient);
  await waitFor(async () => (await client.getStatus(workflowId)) !== null, 10_000, 20);
  return client.retrieve(workflowId).getResult({ timeoutMs: 10_000 });
}

const statuses = (schema: string) =>
  sql<{ workflow_id: string; status: string }>(`SELECT workflow_id, status FROM "${schema}".workflow_status ORDER BY workflow_id`);

describe('@DurableHandler on RabbitMQ (hybrid app, noAck: false)', () => {
  const schema = uniqueSchema('dhrmq');
  const queue = `dbos-dh-${run}`;
  const deadLetters = `${queue}-dead`;
  let connection: amqp.ChannelModel;
  let channel: amqp.ConfirmChannel;
  let app: INestApplication;
  const rmq = (noAck: boolean): MicroserviceOptions => ({
    transport: Transport.RMQ,
    options: { urls: [RMQ_URL], queue, noAck, queueOptions: { durable: false, deadLetterExchange: '', deadLetterRoutingKey: deadLetters } },
  });
  const publish = async (pattern: string, data: unknown, messageId?: string) => {
    channel.sendToQueue(queue, Buffer.from(JSON.stringify({ pattern, data })), messageId ? { messageId } : {});
    await channel.waitForConfirms();
  };

  beforeAll(async () => {
    connection = await amqp.connect(RMQ_URL);
    channel = await connection.createConfirmChannel();
    await channel.assertQueue(deadLetters, { durable: false });
    await channel.assertQueue(queue, { durable: false, deadLetterExchange: '', deadLetterRoutingKey: deadLetters });
    app = await hybridApp(schema, rmq(false));
  });
  afterAll(async () => {
    await app?.close();
    await channel.deleteQueue(queue);
    await channel.deleteQueue(deadLetters);
    await connection.close();
    await dropSchema(schema);
  });

  it('a redelivered message (same key) maps to the same workflow id: it runs once, both deliveries are acknowledged', async () => {
    await publish('orders.created', { orderId: 'A-1' });
    await publish('orders.created', { orderId: 'A-1' });
    expect(await resultOf(app, 'OrderEvents.onOrderCreated:A-1')).toBe('A-1');
    await waitFor(async () => (await channel.checkQueue(queue)).messageCount === 0);
    await quietPeriod(300, 'a second run for the second delivery would show now');
    expect(app.get(Runs).seen.filter((s) => s === 'created A-1')).toHaveLength(1);
  });

  it('a redelivery after the start but before the ack does not run the workflow again', async () => {
    // The first delivery's start committed, then the process died before its ack: the row is there.
    await app
      .get(WorkflowClient)
      .enqueue({ workflowName: 'OrderEvents.onOrderPaid', queue: '_dbos_internal', workflowId: 'OrderEvents.onOrderPaid:msg-7' }, { orderId: 'B-7' });
    await resultOf(app, 'OrderEvents.onOrderPaid:msg-7');
    await publish('orders.paid', { orderId: 'B-7' }, 'msg-7');
    await waitFor(async () => (await channel.checkQueue(queue)).messageCount === 0);
    await quietPeriod(300, 'a second run for the redelivery would show now');
    expect(app.get(Runs).seen.filter((s) => s === 'paid B-7')).toHaveLength(1);
    expect(await statuses(schema)).toContainEqual({ workflow_id: 'OrderEvents.onOrderPaid:msg-7', status: 'SUCCESS' });
  });

  it("poison messages land in the dead-letter queue, never retried: one the handler's validation pipe rejects, one without identity", async () => {
    await publish('orders.created', { orderId: 42 }); // fails the pipe
    await publish('orders.paid', { orderId: 'C-1' }); // no messageId and no key
    await waitFor(async () => (await channel.checkQueue(deadLetters)).messageCount === 2, 10_000);
    // Both are handled at once: they may reach the dead letters in either order.
    const dead = [];
    for (let i = 0; i < 2; i++) {
      const message = await channel.get(deadLetters, { noAck: true });
      if (message) dead.push(JSON.parse(message.content.toString()));
    }
    expect(dead).toEqual(
      expect.arrayContaining([
        { pattern: 'orders.created', data: { orderId: 42 } },
        { pattern: 'orders.paid', data: { orderId: 'C-1' } },
      ]),
    );
    expect(dead).toHaveLength(2);
    expect(app.get(Runs).seen).not.toContain('paid C-1');
  });

  it('with queue the started workflow runs through that durable queue', async () => {
    await publish('orders.cancelled', { orderId: 'Q-1' }, 'cancel-1');
    await resultOf(app, 'OrderEvents.onOrderCancelled:cancel-1');
    expect(await app.get(WorkflowClient).getStatus('OrderEvents.onOrderCancelled:cancel-1')).toMatchObject({ status: 'SUCCESS', queue: 'order-events' });
  });

  it('with awaitCompletion the message is acknowledged only once the workflow finished', async () => {
    // Every acknowledgement sent on an amqplib channel (the consumer's among them), and whether D-1's workflow had finished then.
    const channelPrototype = Object.getPrototypeOf(Object.getPrototypeOf(channel)) as { ack(message: amqp.Message, allUpTo?: boolean): void };
    const ack = channelPrototype.ack;
    const acks: { messageId: unknown; finished: boolean }[] = [];
    const spy = jest.spyOn(channelPrototype, 'ack').mockImplementation(function (this: unknown, message: amqp.Message, allUpTo?: boolean) {
      acks.push({ messageId: message.properties.messageId, finished: app.get(Runs).seen.includes('shipped D-1') });
      return ack.call(this, message, allUpTo);
    });
    try {
      await publish('orders.shipped', { orderId: 'D-1' }, 'ship-1');
      await waitFor(() => app.get(Runs).release !== undefined, 10_000);
      // Started, not finished: closing the consumer returns the unacknowledged message to the queue.
      await (app.getMicroservices()[0] as unknown as { serverInstance: { close(): Promise<void> } }).serverInstance.close();
      await waitFor(async () => (await channel.checkQueue(queue)).messageCount === 1, 10_000);
      expect(acks.filter((a) => a.messageId === 'ship-1')).toEqual([]);
      app.get(Runs).release!();
      await resultOf(app, 'OrderEvents.onOrderShipped:ship-1');
      expect(await app.get(WorkflowClient).getStatus('OrderEvents.onOrderShipped:ship-1')).toMatchObject({ status: 'SUCCESS' });
      // Finished: now it is acknowledged (on the consumer's closed channel, too late: the message went back, see above).
      await waitFor(() => acks.some((a) => a.messageId === 'ship-1'), { what: 'the acknowledgement of ship-1' });
      expect(acks.filter((a) => a.messageId === 'ship-1')).toEqual([{ messageId: 'ship-1', finished: true }]);
      const back = await channel.get(queue, { noAck: true });
      expect(back && back.properties.messageId).toBe('ship-1');
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses at startup a RabbitMQ microservice that acknowledges on delivery (noAck not false)', async () => {
    // A queue of its own: the app above may still be settling messages of the shared one.
    const noAckQueue = `${queue}-noack`;
    const options: MicroserviceOptions = {
      transport: Transport.RMQ,
      options: { urls: [RMQ_URL], queue: noAckQueue, noAck: true, queueOptions: { durable: false } },
    };
    const schema = uniqueSchema('dhnoack');
    try {
      const error = await hybridApp(schema, options, [OrderEvents], true).catch((e: Error) => e);
      expect(error).toBeInstanceOf(DbosConfigurationError);
      expect((error as Error).message).toMatch(/noAck: false/);
    } finally {
      await channel.deleteQueue(noAckQueue).catch(() => undefined);
      await dropSchema(schema);
    }
  });
});

describe('@DurableHandler on MQTT (with a key: the transport gives messages no identity)', () => {
  const schema = uniqueSchema('dhmqtt');
  const topic = `dbos-dh-${run}/orders`;

  @Controller()
  class MqttOrders {
    static runs: string[] = [];
    @EventPattern(topic)
    @DurableHandler<{ orderId: string }>({ key: (data) => data.orderId })
    // `any`: a pattern known only at run time types the data differently on Nest 11 and 12.
    async onOrder(data: any): Promise<void> {
      MqttOrders.runs.push((data as { orderId: string }).orderId);
    }
  }

  @Controller()
  class KeylessMqtt {
    @EventPattern(`${topic}/keyless`)
    @DurableHandler()
    async onOrder(_data: unknown): Promise<void> {}
  }

  const mqttServer: MicroserviceOptions = { transport: Transport.MQTT, options: { url: 'mqtt://127.0.0.1:1883', subscribeOptions: { qos: 1 } } };

  afterAll(() => dropSchema(schema));

  it('the same key published twice starts one workflow', async () => {
    const app = await hybridApp(schema, mqttServer, [MqttOrders]);
    const publisher = await mqtt.connectAsync('mqtt://127.0.0.1:1883');
    try {
      for (let i = 0; i < 2; i++) await publisher.publishAsync(topic, JSON.stringify({ pattern: topic, data: { orderId: 'M-1' } }), { qos: 1 });
      await resultOf(app, `MqttOrders.onOrder:M-1`);
      await quietPeriod(500, 'a second run for the second publish would show now');
      expect(MqttOrders.runs).toEqual(['M-1']);
    } finally {
      await publisher.endAsync();
      await app.close();
    }
  });

  it('a handler without a key is refused at startup, saying so', async () => {
    await expect(hybridApp(uniqueSchema('dhmqtt'), mqttServer, [KeylessMqtt], true)).rejects.toThrow(
      /MQTT transport gives a message no identity.*give the decorator a key/,
    );
  });
});

describe('@DurableHandler on NATS JetStream (JetStreamServer)', () => {
  const schema = uniqueSchema('dhjs');
  const stream = `DBOS_DH_${run}`;
  const subject = `dbos-dh-${run}.orders`;
  const deadSubject = `dbos-dh-${run}.dead`;
  let nats: NatsConnection;
  let app: INestApplication;

  @Controller()
  class JsOrders {
    static runs: string[] = [];
    @EventPattern(subject)
    @DurableHandler()
    // `any`: a pattern known only at run time types the data differently on Nest 11 and 12.
    async onOrder(data: any): Promise<void> {
      JsOrders.runs.push((data as { orderId: string }).orderId);
    }
  }

  beforeAll(async () => {
    nats = await connect({ servers: '127.0.0.1:4222' });
    const jsm = await nats.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: [subject] });
    await jsm.streams.add({ name: `${stream}_DEAD`, subjects: [deadSubject] });
    app = await hybridApp(
      schema,
      { strategy: new JetStreamServer({ servers: '127.0.0.1:4222', stream, consumer: 'orders', deadLetterSubject: deadSubject }) } as MicroserviceOptions,
      [JsOrders],
    );
  });
  afterAll(async () => {
    await app?.close();
    const jsm = await nats.jetstreamManager();
    await jsm.streams.delete(stream);
    await jsm.streams.delete(`${stream}_DEAD`);
    await nats.close();
    await dropSchema(schema);
  });

  it('starts one workflow per message, keyed by the stream sequence, and acknowledges it', async () => {
    await nats.jetstream().publish(subject, JSON.stringify({ orderId: 'J-1' }));
    await resultOf(app, `JsOrders.onOrder:${stream}-1`);
    await waitFor(async () => (await (await nats.jetstreamManager()).consumers.info(stream, 'orders')).num_ack_pending === 0, 10_000);
    expect(JsOrders.runs).toEqual(['J-1']);
  });

  it('a poison message (not JSON) is terminated and published to the dead-letter subject', async () => {
    await nats.jetstream().publish(subject, 'not json {');
    await waitFor(async () => (await (await nats.jetstreamManager()).streams.info(`${stream}_DEAD`)).state.messages === 1, 10_000);
    const dead = await (await nats.jetstreamManager()).streams.getMessage(`${stream}_DEAD`, { seq: 1 });
    expect(new TextDecoder().decode(dead.data)).toBe('not json {');
    expect(dead.header.get('Dbos-Original-Sequence')).toBe(`${stream}-2`);
    await waitFor(async () => {
      const consumer = await (await nats.jetstreamManager()).consumers.info(stream, 'orders');
      return consumer.num_pending + consumer.num_ack_pending === 0;
    }, 10_000);
  });
});
