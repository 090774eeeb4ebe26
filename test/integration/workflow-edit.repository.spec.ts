import { sql } from '../support/database';
import { listenTo, newRow, openRepositories, stepRow, type RepositoryFixture } from '../support/repositories';
import { waitFor } from '../support/wait';

/**
 * A run that never heard of the deletion of its workflow (its process missed the cancel) still
 * writes nothing: every write of a run is fenced on its workflow's row, which is gone.
 */
describe('WorkflowEditRepository.delete: what a deleted workflow’s run may still write', () => {
  let f: RepositoryFixture;

  beforeAll(async () => {
    f = await openRepositories('wfeditrepo');
  });
  afterAll(() => f.close());

  it('a forced delete of a PENDING workflow leaves its run fenced off: checkpoint, outcome and stream writes are no-ops', async () => {
    await f.repos.lifecycle.insert(newRow('gone-1'));
    expect(await f.repos.checkpoints.record(stepRow('gone-1', 0), 0)).toEqual({ recorded: true });
    const heard = await listenTo(f.schema);
    try {
      expect(await f.repos.edits.delete('gone-1', { force: true })).toEqual(['gone-1']);
      // The deletion is announced, so a process running it checks its run and finds it lost.
      await waitFor(() => heard.messages.includes('status:gone-1'), { what: 'the status notice of the deletion' });
    } finally {
      await heard.close();
    }
    expect(await f.repos.recovery.lostRuns([{ workflowId: 'gone-1', epoch: 0 }], 'exec-a')).toEqual([
      { workflowId: 'gone-1', status: 'DELETED', error: null, cancelRoot: null },
    ]);

    expect(await f.repos.checkpoints.record(stepRow('gone-1', 1), 0)).toEqual({ recorded: false, fenced: true });
    expect(await f.repos.lifecycle.complete({ workflowId: 'gone-1', status: 'SUCCESS', output: '"late"', error: null, epoch: 0 })).toBe('not-pending');
    await f.repos.communication.appendStream(undefined, 'gone-1', 'progress', '"late"', false, 1);
    for (const table of ['workflow_status', 'operation_outputs', 'streams']) {
      expect(await sql(`SELECT 1 FROM "${f.schema}".${table} WHERE workflow_id = 'gone-1'`)).toEqual([]);
    }
  });

  it('without force a PENDING or ENQUEUED workflow is refused and left as it is', async () => {
    await f.repos.lifecycle.insert(newRow('kept-1'));
    await f.repos.lifecycle.insert(newRow('kept-2', { queueName: 'jobs' }));
    await expect(f.repos.edits.delete('kept-1')).rejects.toThrow(/"kept-1" is PENDING: only finished workflows are deleted/);
    await expect(f.repos.edits.delete('kept-2')).rejects.toThrow(/"kept-2" is ENQUEUED: only finished workflows are deleted/);
    expect(await f.repos.listing.get('kept-1')).toMatchObject({ status: 'PENDING' });
    expect(await f.repos.listing.get('kept-2')).toMatchObject({ status: 'ENQUEUED' });
  });

  it('with children, an unfinished child refuses the whole deletion without force', async () => {
    await f.repos.lifecycle.insert(newRow('parent-1', { status: 'SUCCESS' }));
    await f.repos.lifecycle.insert(newRow('parent-1-kid', { parentWorkflowId: 'parent-1' }));
    await expect(f.repos.edits.delete('parent-1', { children: true })).rejects.toThrow(/Its child workflow "parent-1-kid" is PENDING/);
    expect(await f.repos.listing.get('parent-1')).toMatchObject({ status: 'SUCCESS' });
  });
});
