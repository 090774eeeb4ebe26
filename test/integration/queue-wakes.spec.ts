import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Client } from 'pg';
import { Step, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, uniqueSchema } from '../support/database';

@Injectable()
class Jobs {
  @Step() async double(n: number): Promise<number> {
    return n * 2;
  }

  @Workflow() async run(n: number): Promise<number> {
    return this.double(n);
  }
}

describe('an enqueue wakes the claim of its own queue only', () => {
  const schema = uniqueSchema('qwake');
  const queues = ['orders', 'emails', 'reports', 'invoices'];
  let app: INestApplicationContext;

  beforeAll(async () => {
    app = await createDbosApp([Jobs], { schema, queues: queues.map((name) => ({ name, workerConcurrency: 4 })) });
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  it('a job enqueued on one of four idle queues is claimed without a claim of the other three before it', async () => {
    const client = app.get(WorkflowClient);
    await (await client.start(Jobs, { queue: 'orders' }).run(0)).getResult({ timeoutMs: 10_000 }); // settle the start-up passes
    await new Promise((resolve) => setTimeout(resolve, 300));

    // The queue named by each claim statement the module sends, in order.
    const claimed: string[] = [];
    const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const original = proto.query;
    proto.query = function (this: Client, query: unknown, ...rest: unknown[]) {
      const config = query as { text?: string; values?: unknown[] };
      if (typeof config?.text === 'string' && config.text.includes(`"${schema}".workflow_status`) && /^\s*WITH room AS/.test(config.text)) {
        claimed.push(String(config.values?.[0]));
      }
      return original.call(this, query, ...rest);
    };
    try {
      const handle = await client.start(Jobs, { queue: 'reports' }).run(21);
      await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toBe(42);
    } finally {
      proto.query = original;
    }
    // The first claim after the enqueue was for its queue (the others' claims, had they come first,
    // would each have cost the job a round trip). Later claims may be anything: a 5 s poll looks at all.
    expect(claimed[0]).toBe('reports');
  });
});
