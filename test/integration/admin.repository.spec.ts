import { DbosNotFoundError } from '../../lib/errors/not-found.error';
import { INTERNAL_QUEUE } from '../../lib/system-database/system.names';
import type { OperationOutputRow } from '../../lib/system-database/system.rows';
import { sql } from '../support/database';
import { newRow, openRepositories, type RepositoryFixture } from '../support/repositories';

const step = (workflowId: string, stepId: number, error: string | null = null): OperationOutputRow => ({
  workflowId,
  stepId,
  stepName: `step${stepId}`,
  output: error === null ? `${stepId}` : null,
  error,
  childWorkflowId: null,
  startedAt: 1,
  completedAt: 2,
});

const HERE = { executorId: 'exec-a', applicationVersion: 'v1', runnableNames: ['Repo.run'], fallbackQueue: INTERNAL_QUEUE };

describe('AdminRepository', () => {
  let f: RepositoryFixture;

  beforeAll(async () => {
    f = await openRepositories('admin');
  });
  afterAll(() => f.close());

  const status = async (id: string) => (await f.repos.listing.get(id))?.status;

  it('cancels a workflow with its unfinished descendants, each marked with the root that stopped it; all or nothing', async () => {
    await f.repos.lifecycle.insert(newRow('root'));
    await f.repos.lifecycle.insert(newRow('child', { parentWorkflowId: 'root' }));
    await f.repos.lifecycle.insert(newRow('grandchild', { parentWorkflowId: 'child', queueName: 'jobs' }));
    await f.repos.lifecycle.insert(newRow('finished', { parentWorkflowId: 'root' }));
    await f.repos.lifecycle.transition('finished', ['PENDING'], 'SUCCESS');

    await expect(f.repos.admin.cancel(['root', 'missing'])).rejects.toThrow(DbosNotFoundError);
    expect(await status('root')).toBe('PENDING');

    const cancelled = await f.repos.admin.cancel('root', '"stop"');
    expect(cancelled.map((c) => [c.workflowId, c.rootId]).sort()).toEqual([
      ['child', 'root'],
      ['grandchild', 'root'],
      ['root', 'root'],
    ]);
    expect(await status('finished')).toBe('SUCCESS');
    expect(await sql(`SELECT workflow_id, cancel_root FROM "${f.schema}".workflow_status WHERE status = 'CANCELLED' ORDER BY 1`)).toEqual([
      { workflow_id: 'child', cancel_root: 'root' },
      { workflow_id: 'grandchild', cancel_root: 'root' },
      { workflow_id: 'root', cancel_root: null },
    ]);
  });

  it('reopens a cancelled workflow with what its cancel stopped, on a new run, without trailing failed checkpoints', async () => {
    await sql(
      `INSERT INTO "${f.schema}".operation_outputs (workflow_id, step_id, step_name, output, error) VALUES ('root', 0, 's0', '0', NULL), ('root', 1, 's1', NULL, '"e"')`,
    );
    const reopened = await f.repos.admin.reopen('root', HERE);
    expect(reopened[0].workflowId).toBe('root'); // the workflow first, then what its cancel stopped
    expect(reopened.map((r) => [r.workflowId, r.status, r.executorId, r.queueName, r.runEpoch]).sort()).toEqual([
      ['child', 'PENDING', 'exec-a', null, 1],
      ['grandchild', 'ENQUEUED', null, 'jobs', 1],
      ['root', 'PENDING', 'exec-a', null, 1],
    ]);
    expect((await f.repos.checkpoints.loadAll('root')).map((s) => s.stepId)).toEqual([0]);
    expect(await f.repos.admin.reopen('root', HERE)).toEqual([]); // running: nothing to reopen
    await expect(f.repos.admin.reopen('missing', HERE)).rejects.toThrow(DbosNotFoundError);
  });

  it('forks a workflow with the checkpoints and published events before a step', async () => {
    await f.repos.lifecycle.insert(newRow('source', { priority: 3, partitionKey: 'p' }));
    for (let i = 0; i < 3; i++) await f.repos.checkpoints.record(step('source', i), 0);
    await sql(
      `INSERT INTO "${f.schema}".workflow_events_history (workflow_id, step_id, key, value) VALUES ('source', 0, 'k', '"a"'), ('source', 2, 'k', '"b"')`,
    );
    await f.repos.admin.fork('source', 'forked', 2, { status: 'ENQUEUED', queueName: null }, 'v2');
    expect(await f.repos.listing.get('forked')).toMatchObject({
      status: 'ENQUEUED',
      queueName: INTERNAL_QUEUE,
      forkedFrom: 'source',
      applicationVersion: 'v2',
      priority: 3,
      partitionKey: 'p',
    });
    expect((await f.repos.checkpoints.loadAll('forked')).map((s) => s.stepId)).toEqual([0, 1]);
    expect(await f.repos.communication.getEvent('forked', 'k')).toEqual({ value: '"a"' });
    await expect(f.repos.admin.fork('missing', 'x', 0, { status: 'PENDING', executorId: 'exec-a' }, null)).rejects.toThrow(DbosNotFoundError);
  });

  it('counts the running and queued workflows of other versions', async () => {
    await f.repos.lifecycle.insert(newRow('old-1', { applicationVersion: 'v0' }));
    await f.repos.lifecycle.insert(newRow('old-2', { applicationVersion: 'v0', queueName: 'jobs' }));
    expect(await f.repos.admin.countOtherVersions('v1')).toEqual(
      expect.arrayContaining([
        { applicationVersion: 'v0', status: 'ENQUEUED', count: 1 },
        { applicationVersion: 'v0', status: 'PENDING', count: 1 },
      ]),
    );
    expect((await f.repos.admin.countOtherVersions('v1')).some((r) => r.applicationVersion === 'v1')).toBe(false);
  });

  it('deletes finished workflows created before a time, with their checkpoints, in batches', async () => {
    const old = Date.now() - 3_600_000;
    for (let i = 0; i < 5; i++) {
      await f.repos.lifecycle.insert(newRow(`gone-${i}`, { createdAt: old + i }));
      await f.repos.checkpoints.record(step(`gone-${i}`, 0), 0);
      await f.repos.lifecycle.transition(`gone-${i}`, ['PENDING'], 'SUCCESS');
    }
    await f.repos.lifecycle.insert(newRow('kept-running', { createdAt: old }));
    expect(await f.repos.admin.deleteFinishedBefore(old + 60_000, 2, 0)).toBe(5);
    expect(await f.repos.listing.get('gone-0')).toBeNull();
    expect(await f.repos.checkpoints.loadAll('gone-4')).toEqual([]);
    expect(await status('kept-running')).toBe('PENDING');
  });
});
