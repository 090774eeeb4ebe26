import { DbosInvalidArgumentError } from '../../lib/errors/invalid-argument.error';
import { encodeListCursor } from '../../lib/system-database/list.cursor';
import { newRow, openRepositories, type RepositoryFixture } from '../support/repositories';

describe('ListingRepository', () => {
  let f: RepositoryFixture;
  const base = Date.now() - 60_000;

  beforeAll(async () => {
    f = await openRepositories('listing');
    for (let i = 0; i < 6; i++) {
      const queued = i % 2 === 1;
      await f.repos.lifecycle.insert(
        newRow(`list_${i}`, { createdAt: base + i, updatedAt: base + 100 - i, inputs: `[${i}]`, ...(queued ? { queueName: 'jobs' } : {}) }),
      );
    }
    await f.repos.lifecycle.insert(newRow('list%odd', { createdAt: base + 10, workflowName: 'Repo.other' }));
  });
  afterAll(() => f.close());

  it('reads rows by id and by ids', async () => {
    expect(await f.repos.listing.get('list_0')).toMatchObject({ workflowId: 'list_0', status: 'PENDING', createdAt: base, inputs: '[0]' });
    expect(await f.repos.listing.get('nope')).toBeNull();
    const many = await f.repos.listing.getMany(['list_1', 'list_2', 'nope']);
    expect([...many.keys()].sort()).toEqual(['list_1', 'list_2']);
    expect(many.get('list_1')).toMatchObject({ status: 'ENQUEUED', queueName: 'jobs' });
  });

  it('lists by every filter, in creation order or newest first, with or without payloads', async () => {
    const ids = async (options: Parameters<typeof f.repos.listing.list>[0]) => (await f.repos.listing.list(options)).map((r) => r.workflowId);
    expect(await ids({ workflowName: 'Repo.run' })).toEqual(['list_0', 'list_1', 'list_2', 'list_3', 'list_4', 'list_5']);
    expect(await ids({ status: 'ENQUEUED', sortDesc: true })).toEqual(['list_5', 'list_3', 'list_1']);
    expect(await ids({ status: ['PENDING', 'ENQUEUED'], limit: 2, offset: 1 })).toEqual(['list_1', 'list_2']);
    expect(await ids({ queue: 'jobs', createdAfter: new Date(base + 2) })).toEqual(['list_3', 'list_5']);
    expect(await ids({ workflowIdPrefix: 'list%' })).toEqual(['list%odd']);
    expect(await ids({ workflowName: 'Repo.run', updatedBefore: new Date(base + 97) })).toEqual(['list_5', 'list_4']);
    const [light] = await f.repos.listing.list({ workflowName: 'Repo.run', limit: 1, loadPayloads: false });
    expect(light).toMatchObject({ workflowId: 'list_0', inputs: null });
  });

  it('continues a page after its cursor, and refuses a cursor of another order', async () => {
    const first = await f.repos.listing.list({ workflowName: 'Repo.run', limit: 4 });
    const cursor = encodeListCursor(first[3], false);
    expect((await f.repos.listing.list({ workflowName: 'Repo.run', cursor })).map((r) => r.workflowId)).toEqual(['list_4', 'list_5']);
    await expect(f.repos.listing.list({ workflowName: 'Repo.run', cursor, sortDesc: true })).rejects.toThrow(DbosInvalidArgumentError);
    await expect(f.repos.listing.list({ cursor: 'not-a-cursor' })).rejects.toThrow(DbosInvalidArgumentError);
  });
});
