import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema } from '../support/database';
import { statementsDuring } from '../support/statements';
import { waitFor } from '../support/wait';

const ROUNDS = 3;

@Injectable()
class Echo {
  constructor(private readonly dbos: DbosContext) {}

  @Workflow()
  async echo() {
    for (let i = 0; i < ROUNDS; i++) {
      const message = await this.dbos.recv<string>('ping', { timeoutMs: 60_000 });
      await this.dbos.setEvent(`key_${i}`, message);
    }
    return ROUNDS;
  }
}

// What one round trip costs the database: a message to a workflow waiting in recv, answered by
// setEvent, read by getEvent. The recv takes the message and records it in one statement once
// woken (no look before it, no transaction around it), and setEvent writes in one statement.
describe('a messaging round trip', () => {
  const schema = uniqueSchema('msgstmts');
  let app: INestApplicationContext;

  beforeAll(async () => {
    app = await createDbosApp([Echo], { schema });
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
  });

  it('sends one statement for the recv that takes the message and one for the setEvent, and no look for the message after the wake-up', async () => {
    const client = app.get(WorkflowClient);
    const handle = await client.start(Echo, { workflowId: 'echo-1' }).echo();
    for (let i = 0; i < ROUNDS - 1; i++) {
      await client.send('echo-1', `warm ${i}`, 'ping');
      expect(await client.getEvent('echo-1', `key_${i}`, { timeoutMs: 10_000 })).toBe(`warm ${i}`);
    }
    // The last recv is waiting once it recorded its deadline and looked for a message (the recv's
    // position is then the next one), so the window below holds only what the message sets off.
    await waitFor(
      async () => (await sql(`SELECT 1 FROM "${schema}".operation_outputs WHERE workflow_id = 'echo-1' AND step_name = 'DBOS.recvDeadline'`)).length === ROUNDS,
      { what: 'the last recv to record its deadline' },
    );
    await new Promise((resolve) => setTimeout(resolve, 200)); // deliberate: let it look for a message and wait

    const sent = await statementsDuring(schema, async () => {
      await client.send('echo-1', 'last', 'ping');
      expect(await client.getEvent('echo-1', `key_${ROUNDS - 1}`, { timeoutMs: 10_000 })).toBe('last');
    });
    await handle.getResult();

    const takes = sent.filter((s) => /DELETE FROM "[^"]+"\.notifications/.test(s));
    expect(takes).toHaveLength(1);
    expect(takes[0]).toMatch(/INSERT INTO "[^"]+"\.operation_outputs/);
    const events = sent.filter((s) => /INSERT INTO "[^"]+"\.workflow_events /.test(s));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatch(/INSERT INTO "[^"]+"\.operation_outputs/);
    expect(sent.filter((s) => /SELECT 1 FROM "[^"]+"\.notifications/.test(s))).toEqual([]);
  });
});
