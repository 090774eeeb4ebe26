import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import { connect, RetentionPolicy, type NatsConnection } from 'nats';
import { ChildApp } from '../support/child-app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { quietPeriod, waitFor } from '../support/wait';

const MESSAGES = 500;
const WORKFLOW = 'Events.onEvent';

/** Runs the consumer, SIGKILLs it twice mid-stream, and lets a third run finish the stream. */
async function consumeWithTwoCrashes(schema: string, env: Record<string, string>): Promise<void> {
  const effects = async () => Number((await sql<{ c: string }>(`SELECT count(*) AS c FROM "${schema}".effects`))[0].c);
  for (const killAt of [MESSAGES / 5, MESSAGES / 2]) {
    const child = ChildApp.start('event-consumer-app.ts', { DATABASE_URL: databaseUrl(), DBOS_SCHEMA: schema, ...env });
    await child.waitForOutput(/CONSUMING/, 60_000);
    await waitFor(async () => (await effects()) >= killAt, 60_000, 20);
    await child.kill('SIGKILL');
  }
  const last = ChildApp.start('event-consumer-app.ts', { DATABASE_URL: databaseUrl(), DBOS_SCHEMA: schema, ...env });
  try {
    await last.waitForOutput(/CONSUMING/, 60_000);
    await waitFor(
      async () => {
        const [row] = await sql<{ c: string }>(`SELECT count(*) AS c FROM "${schema}".workflow_status WHERE status = 'SUCCESS'`);
        return Number(row.c) >= MESSAGES;
      },
      60_000,
      100,
    );
    await quietPeriod(500, 'a late redelivery would show now');
  } finally {
    await last.kill('SIGTERM');
  }
}

async function expectEachMessageRanOnce(schema: string, idOf: (n: number) => string): Promise<void> {
  const rows = await sql<{ workflow_id: string; status: string }>(`SELECT workflow_id, status FROM "${schema}".workflow_status WHERE workflow_name = $1`, [
    WORKFLOW,
  ]);
  expect(rows).toHaveLength(MESSAGES);
  expect(new Set(rows.map((r) => r.workflow_id))).toEqual(new Set(Array.from({ length: MESSAGES }, (_, i) => idOf(i))));
  expect(rows.every((r) => r.status === 'SUCCESS')).toBe(true);
  const effects = await sql<{ n: number; c: string; w: string }>(
    `SELECT n, count(*) AS c, min(workflow_id) AS w FROM "${schema}".effects GROUP BY n ORDER BY n`,
  );
  expect(effects).toHaveLength(MESSAGES);
  expect(effects.filter((e) => Number(e.c) !== 1)).toEqual([]);
  expect(effects.every((e) => e.w === idOf(e.n))).toBe(true);
}

async function prepareSchema(schema: string): Promise<void> {
  await sql(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await sql(`CREATE TABLE "${schema}".effects (n int NOT NULL, workflow_id text NOT NULL)`);
}

jest.setTimeout(120_000);

describe('a durable event consumer killed twice mid-stream', () => {
  const run = randomBytes(4).toString('hex');

  describe('RabbitMQ', () => {
    const schema = uniqueSchema('evrmq');
    const queue = `dbos-test-${run}`;
    let connection: amqp.ChannelModel;

    beforeAll(async () => {
      await prepareSchema(schema);
      connection = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
    });
    afterAll(async () => {
      const channel = await connection.createChannel();
      await channel.deleteQueue(queue);
      await connection.close();
      await dropSchema(schema);
    });

    it('500 messages: every one has exactly one workflow, finished once, none missing', async () => {
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue(queue, { durable: false });
      for (let n = 0; n < MESSAGES; n++) {
        channel.sendToQueue(queue, Buffer.from(JSON.stringify({ pattern: 'numbers.created', data: { n } })), { messageId: `m-${n}` });
      }
      await channel.waitForConfirms();
      await consumeWithTwoCrashes(schema, { TRANSPORT: 'rmq', RMQ_QUEUE: queue, EVENT_PATTERN: 'numbers.created' });
      await expectEachMessageRanOnce(schema, (n) => `${WORKFLOW}:m-${n}`);
      expect((await channel.checkQueue(queue)).messageCount).toBe(0);
    });
  });

  describe('NATS JetStream', () => {
    const schema = uniqueSchema('evjs');
    const stream = `DBOS_TEST_${run}`;
    const subject = `dbos-test-${run}.numbers`;
    let nats: NatsConnection;

    beforeAll(async () => {
      await prepareSchema(schema);
      nats = await connect({ servers: '127.0.0.1:4222' });
      await (await nats.jetstreamManager()).streams.add({ name: stream, subjects: [subject], retention: RetentionPolicy.Limits });
    });
    afterAll(async () => {
      await (await nats.jetstreamManager()).streams.delete(stream);
      await nats.close();
      await dropSchema(schema);
    });

    it('500 messages: every one has exactly one workflow, finished once, none missing', async () => {
      const js = nats.jetstream();
      for (let n = 0; n < MESSAGES; n++) await js.publish(subject, JSON.stringify({ n }));
      await consumeWithTwoCrashes(schema, { TRANSPORT: 'jetstream', JS_STREAM: stream, JS_CONSUMER: 'numbers', EVENT_PATTERN: subject });
      await expectEachMessageRanOnce(schema, (n) => `${WORKFLOW}:${stream}-${n + 1}`);
      const consumer = await (await nats.jetstreamManager()).consumers.info(stream, 'numbers');
      expect(consumer.num_pending + consumer.num_ack_pending).toBe(0);
    });
  });
});
