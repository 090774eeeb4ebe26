import { Client } from 'pg';
import { databaseUrl, sql } from '../support/database';
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

  it('completes a run with its last checkpoint in one statement and announces it, watched: statuses:[id] and queue:<name>, no status:<id>', async () => {
    await f.repos.lifecycle.insert(newRow('done-1', { status: 'PENDING', executorId: 'exec-a', queueName: 'jobs' }));
    await f.repos.listing.watchOutcomes(['done-1']);
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

  it('announces on the channel only the outcomes marked watched; tells the process of each it wrote', async () => {
    const ids = ['quiet-1', 'quiet-2', 'watched-1'];
    for (const id of ids) await f.repos.lifecycle.insert(newRow(id, { status: 'PENDING', executorId: 'exec-a', queueName: 'quiet-q' }));
    await f.repos.listing.watchOutcomes(['watched-1']);
    const told: string[] = [];
    f.repos.lifecycle.onOutcomes((written) => told.push(...written));
    const heard = await listenTo(f.schema);
    try {
      const results = await Promise.all(
        ids.map((workflowId) => f.repos.lifecycle.complete({ workflowId, status: 'SUCCESS', output: '1', error: null, epoch: 0 })),
      );
      expect(results).toEqual(['completed', 'completed', 'completed']);
      expect(told.sort()).toEqual([...ids].sort());
      await waitFor(() => heard.messages.some((m) => m.includes('watched-1')));
      // The queue's slots are announced for every outcome; the ids only for the watched one.
      expect(heard.messages.join(' ')).not.toMatch(/quiet-\d/);
      expect(heard.messages).toContain('queue:quiet-q');
    } finally {
      f.repos.lifecycle.onOutcomes(() => undefined);
      await heard.close();
    }
  });

  it('marks only unfinished rows as watched, and a mark made while the outcome holds the row finds it finished', async () => {
    await f.repos.lifecycle.insert(newRow('mark-done'));
    expect(await f.repos.lifecycle.complete({ workflowId: 'mark-done', status: 'SUCCESS', output: '1', error: null, epoch: 0 })).toBe('completed');
    await f.repos.lifecycle.insert(newRow('mark-open'));
    await f.repos.listing.watchOutcomes(['mark-done', 'mark-open', 'mark-missing']);
    const marks = await sql(
      `SELECT workflow_id, outcome_watched FROM "${f.schema}".workflow_status WHERE workflow_id IN ('mark-done', 'mark-open') ORDER BY 1`,
    );
    expect(marks).toEqual([
      { workflow_id: 'mark-done', outcome_watched: null },
      { workflow_id: 'mark-open', outcome_watched: true },
    ]);
  });

  it('an outcome written while a mark holds the row waits for the mark and is announced', async () => {
    await f.repos.lifecycle.insert(newRow('mark-first'));
    const marker = new Client({ connectionString: databaseUrl() });
    await marker.connect();
    const heard = await listenTo(f.schema);
    try {
      await marker.query('BEGIN');
      await marker.query(`UPDATE "${f.schema}".workflow_status SET outcome_watched = true WHERE workflow_id = 'mark-first'`);
      // The outcome's statement begins before the mark commits: it waits for the row, then sees the mark.
      const completing = f.repos.lifecycle.complete({ workflowId: 'mark-first', status: 'SUCCESS', output: '1', error: null, epoch: 0 });
      await waitFor(async () => (await sql(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH u AS%'`)).length > 0, {
        what: 'the outcome statement waiting for the mark',
      });
      await marker.query('COMMIT');
      expect(await completing).toBe('completed');
      await waitFor(() => heard.messages.includes('statuses:["mark-first"]'), { what: 'the announcement of mark-first' });
    } finally {
      await heard.close();
      await marker.end();
    }
  });

  it('a mark made while an outcome holds the row finds it finished and marks nothing', async () => {
    await f.repos.lifecycle.insert(newRow('outcome-first'));
    const writer = new Client({ connectionString: databaseUrl() });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(`UPDATE "${f.schema}".workflow_status SET status = 'SUCCESS' WHERE workflow_id = 'outcome-first'`);
      const marking = f.repos.listing.watchOutcomes(['outcome-first']);
      await waitFor(
        async () => (await sql(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%SET outcome_watched = true%'`)).length > 0,
        {
          what: 'the mark waiting for the outcome',
        },
      );
      await writer.query('COMMIT');
      await marking;
    } finally {
      await writer.end();
    }
    expect(await sql(`SELECT outcome_watched FROM "${f.schema}".workflow_status WHERE workflow_id = 'outcome-first'`)).toEqual([{ outcome_watched: null }]);
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
