import { openRepositories, newRow, stepRow, type RepositoryFixture } from '../support/repositories';
import { sql } from '../support/database';

// setEvent and recv are one statement each: the checkpoint and, only if it is written, what the
// operation writes (the event and its history row) or takes (the oldest message of the topic).
describe('CommunicationRepository: operations in their checkpoint statement', () => {
  let f: RepositoryFixture;
  beforeAll(async () => {
    f = await openRepositories('commrepo');
  });
  afterAll(async () => {
    await f?.close();
  });

  async function setEvent(workflowId: string, stepId: number, epoch: number, key: string, value: string): Promise<boolean> {
    const { effects, values } = await f.repos.communication.setEventEffects(key, value);
    return f.repos.checkpoints.recordWithEffects({ ...stepRow(workflowId, stepId), stepName: 'DBOS.setEvent' }, epoch, effects, values);
  }

  async function written(workflowId: string) {
    const t = `"${f.schema}"`;
    const [events, history, steps] = await Promise.all([
      sql<{ key: string; value: string }>(`SELECT key, value FROM ${t}.workflow_events WHERE workflow_id = $1 ORDER BY key`, [workflowId]),
      sql<{ step_id: number; key: string }>(`SELECT step_id, key FROM ${t}.workflow_events_history WHERE workflow_id = $1 ORDER BY step_id`, [workflowId]),
      sql<{ step_id: number }>(`SELECT step_id FROM ${t}.operation_outputs WHERE workflow_id = $1 ORDER BY step_id`, [workflowId]),
    ]);
    return { events, history: history.map((h) => `${h.step_id}:${h.key}`), steps: steps.map((s) => s.step_id) };
  }

  it('writes the checkpoint, the event and its history together', async () => {
    await f.repos.lifecycle.insert(newRow('ev-1'));
    expect(await setEvent('ev-1', 0, 0, 'k', '"a"')).toBe(true);
    expect(await setEvent('ev-1', 1, 0, 'k', '"b"')).toBe(true);
    expect(await written('ev-1')).toEqual({ events: [{ key: 'k', value: '"b"' }], history: ['0:k', '1:k'], steps: [0, 1] });
  });

  it('writes nothing for a run that no longer owns the workflow, nor at a position already taken', async () => {
    await f.repos.lifecycle.insert(newRow('ev-2'));
    expect(await setEvent('ev-2', 0, 0, 'k', '"first"')).toBe(true);
    // Taken: the position holds a checkpoint; the event keeps what the first write set.
    expect(await setEvent('ev-2', 0, 0, 'k', '"again"')).toBe(false);
    // Fenced: the workflow's current run is epoch 1 now.
    await sql(`UPDATE "${f.schema}".workflow_status SET run_epoch = 1 WHERE workflow_id = 'ev-2'`);
    expect(await setEvent('ev-2', 1, 0, 'other', '"stale"')).toBe(false);
    expect(await written('ev-2')).toEqual({ events: [{ key: 'k', value: '"first"' }], history: ['0:k'], steps: [0] });
  });

  const at = (workflowId: string, stepId: number) => ({ workflowId, stepId, stepName: 'DBOS.recv', startedAt: Date.now() });
  const send = (destinationId: string, messageId: string, message: string) =>
    f.repos.communication.send(undefined, { messageId, destinationId, topic: 't', message });
  const messagesOf = (workflowId: string) =>
    sql<{ message: string }>(`SELECT message FROM "${f.schema}".notifications WHERE destination_id = $1 ORDER BY seq`, [workflowId]).then((r) =>
      r.map((m) => m.message),
    );

  it('recv takes the oldest message of its topic and records it as the checkpoint, in one statement', async () => {
    await f.repos.lifecycle.insert(newRow('rx-1'));
    expect(await f.repos.communication.consumeInto(at('rx-1', 0), 't', 0)).toBe('nothing');
    await send('rx-1', 'm1', '"one"');
    await send('rx-1', 'm2', '"two"');
    expect(await f.repos.communication.consumeInto(at('rx-1', 0), 't', 0)).toEqual({ message: '"one"' });
    expect(await messagesOf('rx-1')).toEqual(['"two"']);
    const steps = await sql<{ step_id: number; step_name: string; output: string }>(
      `SELECT step_id, step_name, output FROM "${f.schema}".operation_outputs WHERE workflow_id = 'rx-1'`,
    );
    expect(steps).toEqual([{ step_id: 0, step_name: 'DBOS.recv', output: '"one"' }]);
  });

  it('recv leaves the message where it is for a run that no longer owns the workflow, or at a position already taken', async () => {
    await f.repos.lifecycle.insert(newRow('rx-2'));
    await send('rx-2', 'm3', '"kept"');
    await f.repos.checkpoints.record(stepRow('rx-2', 0), 0);
    expect(await f.repos.communication.consumeInto(at('rx-2', 0), 't', 0)).toBe('not-recorded');
    await sql(`UPDATE "${f.schema}".workflow_status SET run_epoch = 1 WHERE workflow_id = 'rx-2'`);
    expect(await f.repos.communication.consumeInto(at('rx-2', 1), 't', 0)).toBe('not-recorded');
    expect(await messagesOf('rx-2')).toEqual(['"kept"']);
    expect(await f.repos.communication.consumeInto(at('rx-2', 1), 't', 1)).toEqual({ message: '"kept"' });
  });
});
