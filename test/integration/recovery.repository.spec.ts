import { sql } from '../support/database';
import { newRow, openRepositories, type RepositoryFixture } from '../support/repositories';

describe('RecoveryRepository', () => {
  let f: RepositoryFixture;
  const old = Date.now() - 600_000;

  beforeAll(async () => {
    f = await openRepositories('recovery');
  });
  afterAll(() => f.close());

  it('finds the untouched PENDING ids of one executor and version, and counts those no registered workflow has', async () => {
    await f.repos.lifecycle.insert(newRow('fp-old', { createdAt: old, workflowName: 'Find.me' }));
    await f.repos.lifecycle.insert(newRow('fp-new', { workflowName: 'Find.me' }));
    await f.repos.lifecycle.insert(newRow('fp-other', { createdAt: old, executorId: 'exec-b', workflowName: 'Find.me' }));
    await f.repos.lifecycle.insert(newRow('fp-v2', { createdAt: old, applicationVersion: 'v2', workflowName: 'Find.me' }));
    expect((await f.repos.recovery.findPendingIds('exec-a', 'v1', 60_000)).filter((id) => id.startsWith('fp-'))).toEqual(['fp-old']);
    const unknown = await f.repos.recovery.countPendingUnknown('exec-a', 'v1', ['Repo.run']);
    expect(unknown).toContainEqual({ workflowName: 'Find.me', count: 2 });
  });

  it('claims one workflow for recovery under its epoch: a new run, one more attempt; a queued one back on its queue', async () => {
    await f.repos.lifecycle.insert(newRow('claim-1'));
    await f.repos.lifecycle.insert(newRow('claim-q', { status: 'PENDING', executorId: 'exec-a', queueName: 'jobs' }));
    expect(await f.repos.recovery.claimForRecovery('claim-1', 'exec-a', 5)).toBeNull();
    expect(await f.repos.recovery.claimForRecovery('claim-1', 'exec-b', 0)).toBeNull();
    expect(await f.repos.recovery.claimForRecovery('claim-1', 'exec-a', 0)).toMatchObject({
      status: 'PENDING',
      executorId: 'exec-a',
      runEpoch: 1,
      recoveryAttempts: 1,
    });
    expect(await f.repos.recovery.claimForRecovery('claim-1', 'exec-a', 0)).toBeNull();
    expect(await f.repos.recovery.claimForRecovery('claim-q', 'exec-a', 0)).toMatchObject({ status: 'ENQUEUED', executorId: null, runEpoch: 1 });
  });

  it('claims a batch in creation order after a position, leaving out excluded, unnamed and recently touched rows', async () => {
    for (let i = 0; i < 5; i++) await f.repos.lifecycle.insert(newRow(`batch-${i}`, { createdAt: old + i, workflowName: 'Batch.run' }));
    await f.repos.lifecycle.insert(newRow('batch-late', { workflowName: 'Batch.run' }));
    const touchedBefore = Date.now() - 60_000;
    const claim = (after: { createdAt: number; workflowId: string } | null, exclude: string[], limit: number) =>
      f.repos.recovery.claimPendingBatch('exec-a', 'v1', ['Batch.run'], after, exclude, limit, touchedBefore);
    const first = await claim(null, ['batch-1'], 2);
    expect(first.map((r) => [r.workflowId, r.runEpoch, r.recoveryAttempts])).toEqual([
      ['batch-0', 1, 1],
      ['batch-2', 1, 1],
    ]);
    expect(first[0].inputs).toBe('[]');
    expect((await claim(first[1], [], 10)).map((r) => r.workflowId)).toEqual(['batch-3', 'batch-4']);
    expect(await claim(null, ['batch-1'], 10)).toEqual([]); // the claimed ones were touched now
  });

  it('tells which runs lost their workflow (cancelled, finished, taken by another run) and whether one still owns it', async () => {
    await f.repos.lifecycle.insert(newRow('own-1'));
    await f.repos.lifecycle.insert(newRow('own-2'));
    await f.repos.lifecycle.insert(newRow('own-3'));
    await sql(`UPDATE "${f.schema}".workflow_status SET status = 'CANCELLED', cancel_root = 'root-x' WHERE workflow_id = 'own-2'`);
    await sql(`UPDATE "${f.schema}".workflow_status SET run_epoch = 1 WHERE workflow_id = 'own-3'`);
    const runs = ['own-1', 'own-2', 'own-3'].map((workflowId) => ({ workflowId, epoch: 0 }));
    expect(await f.repos.recovery.lostRuns(runs, 'exec-a')).toEqual(
      expect.arrayContaining([
        { workflowId: 'own-2', status: 'CANCELLED', error: null, cancelRoot: 'root-x' },
        { workflowId: 'own-3', status: 'PENDING', error: null, cancelRoot: null },
      ]),
    );
    expect(await f.repos.recovery.lostRuns(runs, 'exec-a')).toHaveLength(2);
    expect(await f.repos.recovery.lostRuns([], 'exec-a')).toEqual([]);
    expect(await f.repos.recovery.isOwnedBy('own-1', 'exec-a', 0)).toBe(true);
    expect(await f.repos.recovery.isOwnedBy('own-1', 'exec-b', 0)).toBe(false);
    expect(await f.repos.recovery.isOwnedBy('own-3', 'exec-a', 0)).toBe(false);
  });
});
