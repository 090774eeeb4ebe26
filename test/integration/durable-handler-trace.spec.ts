import { randomBytes } from 'node:crypto';
import { Controller, Module, type INestApplication } from '@nestjs/common';
import { EventPattern, Transport } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import * as amqp from 'amqplib';
import { DbosModule, DurableHandler, WorkflowClient } from '../../lib';
import { dropSchema, uniqueSchema, databaseOptions } from '../support/database';
import { parentOf, registerOtel } from '../support/otel';
import { waitFor } from '../support/wait';

const RMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';

@Controller()
class Shipments {
  @EventPattern('shipments.booked')
  @DurableHandler<{ id: string }>({ key: (data) => data.id })
  async onBooked(data: { id: string }): Promise<string> {
    return `booked ${data.id}`;
  }
}

describe('@DurableHandler continues the trace its message carried (RabbitMQ headers)', () => {
  const schema = uniqueSchema('dhtrace');
  const queue = `dbos-dh-trace-${randomBytes(4).toString('hex')}`;
  const otel = registerOtel();
  const exporter = otel.exporter as InMemorySpanExporter;
  let connection: amqp.ChannelModel;
  let channel: amqp.ConfirmChannel;
  let app: INestApplication;

  beforeAll(async () => {
    connection = await amqp.connect(RMQ_URL);
    channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: false });
    @Module({ imports: [DbosModule.forRoot({ database: databaseOptions(), schema, shutdownTimeoutMs: 2_000 })], controllers: [Shipments] })
    class AppModule {}
    app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({ logger: ['error'] });
    app.connectMicroservice({ transport: Transport.RMQ, options: { urls: [RMQ_URL], queue, noAck: false, queueOptions: { durable: false } } });
    await app.startAllMicroservices();
    await app.init();
  });
  afterAll(async () => {
    await app?.close();
    await channel.deleteQueue(queue);
    await connection.close();
    await dropSchema(schema);
    await otel.shutdown();
  });

  const publish = async (id: string, headers: Record<string, string>) => {
    channel.sendToQueue(queue, Buffer.from(JSON.stringify({ pattern: 'shipments.booked', data: { id } })), { headers });
    await channel.waitForConfirms();
  };
  const workflowSpan = async (workflowId: string) => {
    const client = app.get(WorkflowClient);
    await waitFor(async () => (await client.getStatus(workflowId)) !== null);
    await client.retrieve(workflowId).getResult({ timeoutMs: 10_000 });
    await waitFor(() => exporter.getFinishedSpans().some((s) => s.attributes['dbos.workflow.id'] === workflowId && s.name.startsWith('workflow ')));
    return exporter.getFinishedSpans().find((s) => s.attributes['dbos.workflow.id'] === workflowId && s.name.startsWith('workflow '))!;
  };

  it("the workflow's span is a child of the publisher's span named by traceparent, with its tracestate", async () => {
    const traceId = randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    await publish('s-1', { traceparent: `00-${traceId}-${spanId}-01`, tracestate: 'vendor=abc' });
    const span = await workflowSpan('Shipments.onBooked:s-1');
    expect(span.spanContext().traceId).toBe(traceId);
    expect(parentOf(span)).toBe(spanId);
    expect(span.spanContext().traceState?.get('vendor')).toBe('abc');
  });

  it('a message without trace headers (or a malformed one) starts a trace of its own', async () => {
    await publish('s-2', { traceparent: 'not-a-traceparent' });
    const span = await workflowSpan('Shipments.onBooked:s-2');
    expect(parentOf(span)).toBeUndefined();
  });
});
