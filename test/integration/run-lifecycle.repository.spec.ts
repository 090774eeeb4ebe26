import { sql } from '../support/database';
import { listenTo, newRow, openRepositories, stepRow, type RepositoryFixture } from '../support/repositories';
import { waitFor } from '../support/wait';

const step = stepRow;

describe('RunLifecycleRepository', () => {
  let f: RepositoryFixture;

  beforeAll(async () => {
    f = await openRepositories('lifecycle');
  });
  afterAll(() => f.close());

  it('inserts a row, and for an id that exists returns the row there (also within one batch)', async () => {
    expect(await f.repos.lifecycle.insert(newRow('ins-1', { inputs: '[1]' }))).toEqual({ inserted: true });
    const stored = await f.repos.listing.get('ins-1');
    expect(stored).toMatchObject({ workflowId: 'ins-1', status: 'PENDING', inputs: '[1]', executorId: 'exec-a', runEpoch: 0, recoveryAttempts: 0 });
    expect(await f.repos.lifecycle.insert(newRow('ins-1', { inputs: '[2]' }))).toEqual({ inserted: false, existing: stored });

    const [first, second] = await Promise.all([f.repos.lifecycle.insert(newRow('ins-2')), f.repos.lifecycle.insert(newRow('ins-2'))]);
    expect(first).toEqual({ inserted: true });
    expect(second).toMatchObject({ inserted: false, existing: { workflowId: 'ins-2' } });
  });

  it('completes a run with its last checkpoint in one statement and announces it: statuses:[id] and queue:<name>, no status:<id>', async () => {
    await f.repos.lifecycle.insert(newRow('done-1', { status: 'PENDING', executorId: 'exec-a', queueName: 'jobs' }));
    const heard = await listenTo(f.schema);
    try {
      const result = await f.repos.lifecycle.complete({
        workflowId: 'done-1',
        status: 'SUCCESS',
        output: '"ok"',
        error: null,
        epoch: 0,
        lastCheckpoint: step('done-1', 0),
      });
      expect(result).toBe('completed');
      await waitFor(() => heard.messages.includes('queue:jobs'));
      expect(heard.messages).toEqual(expect.arrayContaining(['statuses:["done-1"]', 'queue:jobs']));
      expect(heard.messages).not.toContain('status:done-1');
    } finally {
      await heard.close();
    }
    expect(await f.repos.listing.get('done-1')).toMatchObject({ status: 'SUCCESS', output: '"ok"', error: null });
    expect(await f.repos.checkpoints.loadAll('done-1')).toEqual([step('done-1', 0)]);
    expect(await sql(`SELECT announced_epoch FROM "${f.schema}".workflow_status WHERE workflow_id = 'done-1'`)).toEqual([{ announced_epoch: 0 }]);
  });

  it('writes no outcome for a run that no longer owns the workflow, nor when its checkpoint position is taken', async () => {
    await f.repos.lifecycle.insert(newRow('fenced'));
    const outcome = { workflowId: 'fenced', status: 'ERROR' as const, output: null, error: '"boom"' };
    expect(await f.repos.lifecycle.complete({ ...outcome, epoch: 1 })).toBe('not-pending');

    expect(await f.repos.checkpoints.record(step('fenced', 3), 0)).toEqual({ recorded: true });
    expect(await f.repos.lifecycle.complete({ ...outcome, epoch: 0, lastCheckpoint: { ...step('fenced', 3), stepName: 'other' } })).toBe(
      'checkpoint-not-recorded',
    );
    expect(await f.repos.listing.get('fenced')).toMatchObject({ status: 'PENDING', error: null });
    expect(await f.repos.lifecycle.complete({ ...outcome, epoch: 0 })).toBe('completed');
    expect(await f.repos.listing.get('fenced')).toMatchObject({ status: 'ERROR', error: '"boom"' });
  });

  it('moves a workflow between statuses only from the given ones, announcing an outcome', async () => {
    await f.repos.lifecycle.insert(newRow('moved', { deduplicationId: 'd-1', queueName: 'jobs' }));
    expect(await f.repos.lifecycle.transition('moved', ['PENDING'], 'ERROR')).toBe(false);
    const heard = await listenTo(f.schema);
    try {
      expect(await f.repos.lifecycle.transition('moved', ['ENQUEUED', 'PENDING'], 'ERROR', '"gave up"')).toBe(true);
      await waitFor(() => heard.messages.includes('statuses:["moved"]'));
    } finally {
      await heard.close();
    }
    expect(await f.repos.listing.get('moved')).toMatchObject({ status: 'ERROR', error: '"gave up"', deduplicationId: null });
  });
});
