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

  it('announces on the channel only the outcomes marked watched and the queued ones; tells the process of each it wrote', async () => {
    const ids = ['quiet-1', 'quiet-2', 'watched-1', 'queued-1'];
    for (const id of ids)
      await f.repos.lifecycle.insert(newRow(id, id === 'queued-1' ? { status: 'PENDING', executorId: 'exec-a', queueName: 'quiet-q' } : {}));
    expect(await f.repos.listing.watchOutcomes(['watched-1'])).toBe(true);
    const told: string[] = [];
    f.repos.lifecycle.onOutcomes((written) => told.push(...written));
    const heard = await listenTo(f.schema);
    try {
      const results = await Promise.all(
        ids.map((workflowId) => f.repos.lifecycle.complete({ workflowId, status: 'SUCCESS', output: '1', error: null, epoch: 0 })),
      );
      expect(results).toEqual(['completed', 'completed', 'completed', 'completed']);
      expect(told.sort()).toEqual([...ids].sort());
      await waitFor(() => ['watched-1', 'queued-1'].every((id) => heard.messages.some((m) => m.includes(`"${id}"`))), {
        what: 'watched-1 and queued-1 announced',
      });
      expect(heard.messages.join(' ')).not.toMatch(/quiet-\d/);
      expect(heard.messages).toContain('queue:quiet-q');
    } finally {
      f.repos.lifecycle.onOutcomes(() => undefined);
      await heard.close();
    }
  });

  it('a mark racing a batch of outcomes that locks the same rows in the other order neither deadlocks nor misses one', async () => {
    const deadlocks = async () =>
      Number((await sql<{ d: string }>(`SELECT deadlocks::text AS d FROM pg_stat_database WHERE datname = current_database()`))[0].d);
    const before = await deadlocks();
    for (let round = 0; round < 150; round++) {
      const ids = Array.from({ length: 64 }, (_, i) => `race-${round}-${String(i).padStart(2, '0')}`);
      await Promise.all(ids.map((id) => f.repos.lifecycle.insert(newRow(id))));
      // Outcomes in descending id order; the mark's rows in ascending index order.
      const outcomes = () =>
        Promise.all([...ids].reverse().map((workflowId) => f.repos.lifecycle.complete({ workflowId, status: 'SUCCESS', output: '1', error: null, epoch: 0 })));
      const mark = () => f.repos.listing.watchOutcomes(ids);
      const [first, second] = round % 2 === 0 ? [mark, outcomes] : [outcomes, mark];
      const a = first();
      await new Promise((resolve) => setImmediate(resolve));
      const [x, y] = await Promise.all([a, second()]);
      const marked = round % 2 === 0 ? x : y;
      const written = (round % 2 === 0 ? y : x) as string[];
      expect(marked).toBe(true);
      expect(written.every((r) => r === 'completed')).toBe(true);
    }
    expect((await deadlocks()) - before).toBe(0);
  }, 120_000);

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

  it('a mark made while an outcome holds the row does not wait in the lock: it tries again, finds it finished and marks nothing', async () => {
    await f.repos.lifecycle.insert(newRow('outcome-first'));
    const writer = new Client({ connectionString: databaseUrl() });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(`UPDATE "${f.schema}".workflow_status SET status = 'SUCCESS' WHERE workflow_id = 'outcome-first'`);
      let settled = false;
      const marking = f.repos.listing.watchOutcomes(['outcome-first']).finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(settled).toBe(false); // trying again, not finished with a lock it could not take
      expect(await sql(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%SET outcome_watched = true%'`)).toEqual([]);
      await writer.query('COMMIT');
      expect(await marking).toBe(true);
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
