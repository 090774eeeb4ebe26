/**
 * Event processing: messages/s from RabbitMQ into started workflows (@DurableHandler, acked once
 * the start is durable) next to a plain @EventPattern handler doing the same work without
 * durability (acked after it ran). Run: DATABASE_URL=... node -r ts-node/register/transpile-only bench/event-processing.ts [messages]
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload, Transport, type MicroserviceOptions, type RmqContext } from '@nestjs/microservices';
import * as amqp from 'amqplib';
import { Client } from 'pg';
import { DbosModule, DurableHandler } from '../lib';

const MESSAGES = Number(process.argv[2] ?? 2000);
const RMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';
const run = randomBytes(4).toString('hex');
const schema = `bench_events_${run}`;
let plainDone = 0;

const work = (n: number): number => (n * 31) % 7;

@Controller()
class BenchEvents {
  @EventPattern('bench.durable')
  @DurableHandler<{ n: number }>({ key: (data) => String(data.n) })
  async durable(@Payload() data: { n: number }): Promise<number> {
    return work(data.n);
  }

  @EventPattern('bench.plain')
  async plain(@Payload() data: { n: number }, @Ctx() ctx: RmqContext): Promise<void> {
    work(data.n);
    plainDone++;
    ctx.getChannelRef().ack(ctx.getMessage());
  }
}

@Module({ imports: [DbosModule.forRoot({ database: { url: process.env.DATABASE_URL }, schema })], controllers: [BenchEvents] })
class BenchModule {}

async function measure(queue: string, pattern: string, done: () => Promise<number>): Promise<number> {
  const connection = await amqp.connect(RMQ_URL);
  const channel = await connection.createConfirmChannel();
  const started = Date.now();
  for (let n = 0; n < MESSAGES; n++) channel.sendToQueue(queue, Buffer.from(JSON.stringify({ pattern, data: { n } })));
  await channel.waitForConfirms();
  while ((await done()) < MESSAGES) await new Promise((resolve) => setTimeout(resolve, 20));
  const seconds = (Date.now() - started) / 1000;
  await channel.deleteQueue(queue);
  await connection.close();
  return MESSAGES / seconds;
}

async function main(): Promise<void> {
  const app = await NestFactory.create(BenchModule, { logger: ['error', 'warn'] });
  const rmq = (queue: string): MicroserviceOptions => ({
    transport: Transport.RMQ,
    options: { urls: [RMQ_URL], queue, noAck: false, prefetchCount: 100, queueOptions: { durable: false } },
  });
  app.connectMicroservice(rmq(`bench-durable-${run}`));
  app.connectMicroservice(rmq(`bench-plain-${run}`));
  await app.startAllMicroservices();
  await app.init();
  const pg = new Client({ connectionString: process.env.DATABASE_URL });
  await pg.connect();
  try {
    const plain = await measure(`bench-plain-${run}`, 'bench.plain', async () => plainDone);
    const durable = await measure(`bench-durable-${run}`, 'bench.durable', async () => {
      const { rows } = await pg.query(`SELECT count(*)::int AS c FROM "${schema}".workflow_status WHERE status = 'SUCCESS'`);
      return rows[0].c as number;
    });
    console.log(
      JSON.stringify({
        workload: 'events',
        messages: MESSAGES,
        plainPerSecond: Math.round(plain),
        durablePerSecond: Math.round(durable),
        ratio: Number((plain / durable).toFixed(2)),
      }),
    );
  } finally {
    await app.close();
    await pg.query(`DROP SCHEMA "${schema}" CASCADE`);
    await pg.end();
  }
}

void main();
