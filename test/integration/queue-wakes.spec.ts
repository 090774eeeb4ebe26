import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Step, Workflow, WorkflowClient } from '../../lib';
import { DBOS_SYSTEM_DATABASE } from '../../lib/dbos.constants';
import type { DbosDatabase } from '../../lib/dbos.database';
import { QueueDispatcher } from '../../lib/queues/queue.dispatcher';
import { createDbosApp } from '../support/app';
import { dropSchema, uniqueSchema } from '../support/database';
import { watchStatements } from '../support/statements';
import { waitFor } from '../support/wait';

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
    const notices: string[] = [];
    (app.get(DBOS_SYSTEM_DATABASE) as DbosDatabase).listener.onAny((key) => notices.push(key));
    await (await client.start(Jobs, { queue: 'orders' }).run(0)).getResult({ timeoutMs: 10_000 });
    // The start-up passes and this job's wakes are over: both its queue notices (its enqueue, its outcome)
    // came, and the dispatcher sleeps with nothing due (it holds a waker only while it sleeps).
    const dispatcher = app.get(QueueDispatcher) as unknown as { wakeSleeper?: () => void };
    await waitFor(() => notices.filter((key) => key === 'queue:orders').length >= 2 && dispatcher.wakeSleeper !== undefined, {
      what: "the dispatcher asleep after the orders job's two notices",
    });

    // The queue named by each claim statement the module sends, in order.
    const claimed: string[] = [];
    await watchStatements(
      (text, values) => {
        if (text.includes(`"${schema}".workflow_status`) && /^\s*WITH room AS/.test(text)) claimed.push(String(values?.[0]));
      },
      async () => {
        const handle = await client.start(Jobs, { queue: 'reports' }).run(21);
        await expect(handle.getResult({ timeoutMs: 10_000 })).resolves.toBe(42);
      },
    );
    // The first claim after the enqueue was for its queue (the others' claims, had they come first,
    // would each have cost the job a round trip). Later claims may be anything: a 5 s poll looks at all.
    expect(claimed[0]).toBe('reports');
  });
});
