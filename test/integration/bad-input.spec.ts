import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, DbosInvalidArgumentError, DbosSerializationError, Step, Workflow, WorkflowClient } from '../../lib';
import { serialize } from '../../lib/serialization/value.codec';
import { createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

@Injectable()
class Intake {
  static ran: string[] = [];
  constructor(private readonly dbos: DbosContext) {}

  @Step() async produce(size: number): Promise<string> {
    Intake.ran.push('produce');
    return 'x'.repeat(size);
  }

  @Workflow() async take(payload: string): Promise<number> {
    return payload.length;
  }

  @Workflow() async bigOutput(size: number): Promise<number> {
    return (await this.produce(size)).length;
  }

  @Workflow() async message(to: string, size: number): Promise<void> {
    await this.dbos.send(to, 'y'.repeat(size));
  }

  @Workflow() async unreachable(port: number): Promise<void> {
    await fetch(`http://127.0.0.1:${port}/`);
  }

  @Workflow() async twoSteps(): Promise<string> {
    const a = await this.produce(1);
    const b = await this.produce(2);
    return a + b;
  }
}

describe('bad input and misuse', () => {
  const schema = uniqueSchema('bad');
  let app: INestApplicationContext;
  let client: WorkflowClient;
  const count = async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".workflow_status`))[0].n;

  beforeAll(async () => {
    app = await createDbosApp([Intake], { schema, executorId: 'bad-exec', applicationVersion: 'v1', maxPayloadBytes: 1_000, queues: [{ name: 'intake' }] });
    client = app.get(WorkflowClient);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  it('arguments over maxPayloadBytes are refused before anything is written', async () => {
    const before = await count();
    const error = await client
      .start(Intake)
      .take('z'.repeat(2_000))
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(DbosSerializationError);
    expect((error as Error).message).toMatch(/over the limit of 1000 \(maxPayloadBytes\)/);
    expect(await count()).toBe(before);
    await expect(
      client
        .start(Intake)
        .take('z'.repeat(100))
        .then((h) => h.getResult()),
    ).resolves.toBe(100);
  });

  it('a step output or message over the limit fails the workflow with a clear error', async () => {
    await expect(
      client
        .start(Intake)
        .bigOutput(5_000)
        .then((h) => h.getResult()),
    ).rejects.toThrow(/output of step Intake.produce.*maxPayloadBytes/);
    const receiver = await client.start(Intake).take('r');
    await expect(
      client
        .start(Intake)
        .message(receiver.workflowId, 5_000)
        .then((h) => h.getResult()),
    ).rejects.toThrow(DbosSerializationError);
  });

  it('a workflow id over 255 characters is refused, nothing written', async () => {
    const before = await count();
    await expect(client.start(Intake, { workflowId: 'w'.repeat(256) }).take('a')).rejects.toThrow(DbosInvalidArgumentError);
    await expect(client.enqueue({ workflowName: 'Intake.take', queue: 'intake', workflowId: '' }, 'a')).rejects.toThrow(DbosInvalidArgumentError);
    expect(await count()).toBe(before);
  });

  it('ids and values are data, never SQL', async () => {
    const id = `o'; DROP TABLE "${schema}".workflow_status; --`;
    await expect(
      client
        .start(Intake, { workflowId: id })
        .take("'; SELECT 1; --")
        .then((h) => h.getResult()),
    ).resolves.toBe(15);
    expect((await client.getStatus(id))!.status).toBe('SUCCESS');
  });

  it('a corrupt checkpoint fails the workflow with an error naming the row, and keeps the row', async () => {
    const now = Date.now();
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, inputs, executor_id, application_version, created_at, updated_at)
       VALUES ('corrupt-1', 'PENDING', 'Intake.twoSteps', $1, 'bad-exec', 'v1', $2, $2)`,
      [serialize([]), now],
    );
    await sql(`INSERT INTO "${schema}".operation_outputs (workflow_id, step_id, step_name, output) VALUES ('corrupt-1', 0, 'Intake.produce', '{not json')`);
    const restarted = await createDbosApp([Intake], { schema, executorId: 'bad-exec', applicationVersion: 'v1' });
    try {
      const error = await restarted
        .get(WorkflowClient)
        .retrieve('corrupt-1')
        .getResult({ timeoutMs: 10_000 })
        .catch((e: Error) => e);
      expect(error).toBeInstanceOf(DbosSerializationError);
      expect((error as Error).message).toMatch(/checkpoint of step 0 \("Intake.produce"\) of workflow "corrupt-1".*corrupt.*resume/);
      expect(await sql(`SELECT output FROM "${schema}".operation_outputs WHERE workflow_id = 'corrupt-1'`)).toEqual([{ output: '{not json' }]);
    } finally {
      await restarted.close();
    }
  });

  it('a queued workflow whose name no process registers stays ENQUEUED and is reported, not crashed on', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const outside = await WorkflowClient.connect({ database: databaseOptions(), schema });
    try {
      const handle = await outside.enqueue({ workflowName: 'Gone.away', queue: 'intake', workflowId: 'unknown-name' }, 1);
      const other = await createDbosApp([Intake], { schema, executorId: 'bad-exec-2', applicationVersion: 'v1', queues: [{ name: 'intake' }] });
      try {
        await waitFor(() => warn.mock.calls.some(([m]) => /named "Gone.away" wait on queue "intake"/.test(String(m))));
        expect((await handle.getStatus())!.status).toBe('ENQUEUED');
        await expect(
          other
            .get(WorkflowClient)
            .start(Intake, { queue: 'intake' })
            .take('still works')
            .then((h) => h.getResult({ timeoutMs: 10_000 })),
        ).resolves.toBe(11);
      } finally {
        await other.close();
      }
    } finally {
      warn.mockRestore();
      await outside.close();
    }
  });

  it('a queue no live process declares is reported in the log once its work has waited, the queued workflows kept', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const outside = await WorkflowClient.connect({ database: databaseOptions(), schema });
    try {
      const handle = await outside.enqueue({ workflowName: 'Intake.take', queue: 'undeclared-anywhere', workflowId: 'stalled-1' }, 'x');
      // As if it had waited 40 s (the report comes 30 s to a minute after the work became due):
      await sql(`UPDATE "${schema}".workflow_status SET created_at = created_at - 40000 WHERE workflow_id = 'stalled-1'`);
      const other = await createDbosApp([Intake], { schema, executorId: 'bad-exec-3', applicationVersion: 'v1', queues: [{ name: 'intake' }] });
      try {
        await waitFor(() =>
          warn.mock.calls.some(([m]) => /1 workflow\(s\) wait on queue "undeclared-anywhere", which this process does not declare/.test(String(m))),
        );
        expect((await handle.getStatus())!.status).toBe('ENQUEUED');
      } finally {
        await other.close();
      }
    } finally {
      warn.mockRestore();
      await outside.close();
    }
  });

  it('a workflow that ends in ERROR is logged with the cause chain of its error (name, message, code)', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    try {
      const port = await freePort(); // nothing listens there
      const handle = await client.start(Intake, { workflowId: 'unreachable-1' }).unreachable(port);
      await expect(handle.getResult({ timeoutMs: 10_000 })).rejects.toThrow('fetch failed');
      const line = warn.mock.calls.map(([m]) => String(m)).find((m) => m.startsWith('Workflow unreachable-1 '));
      expect(line).toMatch(
        /^Workflow unreachable-1 \(Intake\.unreachable\) ended in ERROR: TypeError: fetch failed; caused by Error: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
      );
    } finally {
      warn.mockRestore();
    }
  });
});
