import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosInvalidArgumentError, Step, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema } from '../support/database';

@Injectable()
class Pages {
  @Step() async one(): Promise<number> {
    return 1;
  }

  @Workflow() async work(i: number): Promise<number> {
    return i + (await this.one());
  }
}

/** Keyset pages over list() filters, the indexes that serve them, and queueStats over history. */
describe('listPage and the list indexes', () => {
  const schema = uniqueSchema('pages');
  let app: INestApplicationContext;
  let client: WorkflowClient;

  beforeAll(async () => {
    app = await createDbosApp([Pages], { schema });
    client = app.get(WorkflowClient);
    for (let i = 0; i < 25; i++) await client.start(Pages, { workflowId: `page-${String(i).padStart(2, '0')}` }).work(i);
    for (let i = 0; i < 25; i++) await client.retrieve(`page-${String(i).padStart(2, '0')}`).getResult();
    // Equal creation times: the id breaks the tie, so no row is skipped or repeated between pages.
    await sql(`UPDATE "${schema}".workflow_status SET created_at = 1000 WHERE workflow_id IN ('page-10', 'page-11', 'page-12')`);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(schema);
  });

  for (const sortDesc of [false, true]) {
    it(`pages through every workflow once, in list order (sortDesc ${sortDesc}), ending with a null cursor`, async () => {
      const all = (await client.list({ workflowIdPrefix: 'page-', sortDesc, loadPayloads: false })).map((w) => w.workflowId);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let k = 0; k < 10; k++) {
        const page = await client.listPage({ workflowIdPrefix: 'page-', sortDesc, limit: 7, cursor, loadPayloads: false });
        seen.push(...page.workflows.map((w) => w.workflowId));
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      expect(all).toHaveLength(25);
      expect(seen).toEqual(all);
    });
  }

  it('refuses a cursor it did not make, or one used with the other sort direction', async () => {
    await expect(client.listPage({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(DbosInvalidArgumentError);
    const { nextCursor } = await client.listPage({ limit: 2 });
    await expect(client.listPage({ cursor: nextCursor!, sortDesc: true })).rejects.toBeInstanceOf(DbosInvalidArgumentError);
    expect((await client.list({ cursor: nextCursor!, limit: 100 })).length).toBe(23);
  });

  it('queueStats counts only queued and running workflows', async () => {
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, queue_name, created_at, updated_at)
       SELECT 'q-' || g, CASE WHEN g <= 3 THEN 'ENQUEUED' WHEN g <= 5 THEN 'PENDING' ELSE 'SUCCESS' END, 'Pages.none', 'stats', g, g
         FROM generate_series(1, 50) g`,
    );
    expect(await client.queueStats()).toEqual([{ queue: 'stats', enqueued: 3, running: 2 }]);
    await sql(`DELETE FROM "${schema}".workflow_status WHERE workflow_id LIKE 'q-%'`);
  });

  it('orders an updated-time range by update time, and pages through it with a cursor of that order', async () => {
    // Created in one order, updated in the reverse one: page-24 was updated first.
    await sql(`UPDATE "${schema}".workflow_status SET updated_at = 5000000 - substr(workflow_id, 6)::int * 1000 WHERE workflow_id LIKE 'page-%'`);
    const range = { workflowIdPrefix: 'page-', updatedAfter: new Date(5_000_000 - 20_000), updatedBefore: new Date(5_000_000) };
    for (const sortDesc of [false, true]) {
      const listed = (await client.list({ ...range, sortDesc, loadPayloads: false })).map((w) => w.workflowId);
      const byUpdate = Array.from({ length: 20 }, (_, k) => `page-${String(k + 1).padStart(2, '0')}`).reverse(); // updated_at ascending
      expect(listed).toEqual(sortDesc ? [...byUpdate].reverse() : byUpdate);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let k = 0; k < 10; k++) {
        const page = await client.listPage({ ...range, sortDesc, limit: 6, cursor, loadPayloads: false });
        seen.push(...page.workflows.map((w) => w.workflowId));
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      expect(seen).toEqual(listed);
    }
    // With a created-time range too, the order stays by creation; a cursor of one order is refused by the other.
    const created = (await client.list({ ...range, createdAfter: new Date(0), loadPayloads: false })).map((w) => w.workflowId);
    expect(created[0]).toBe('page-10'); // created_at 1000, set above
    const { nextCursor } = await client.listPage({ ...range, limit: 2 });
    await expect(client.listPage({ workflowIdPrefix: 'page-', cursor: nextCursor! })).rejects.toBeInstanceOf(DbosInvalidArgumentError);
  });

  it('keeps PENDING rows out of the list indexes (and SUCCESS out of the status one) and still lists every status, in one order', async () => {
    const defs = await sql<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname ~ '_(status_created|executor_created|version_created|queue_created|id_prefix|updated_at|forked_from)_idx$'`,
      [schema],
    );
    expect(defs).toHaveLength(7);
    for (const d of defs) expect(d.indexdef).toMatch(/status <> 'PENDING'::text|status <> ALL \(ARRAY\['PENDING'::text, 'SUCCESS'::text\]\)/);
    // Running and finished rows interleaved in creation and update order, with every filter's column set.
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, executor_id, application_version, queue_name, forked_from, created_at, updated_at)
       SELECT 'st-' || g, CASE g % 4 WHEN 0 THEN 'PENDING' WHEN 1 THEN 'SUCCESS' WHEN 2 THEN 'ERROR' ELSE 'ENQUEUED' END,
              'Pages.none', 'st-exec', 'st-v', 'st-q', 'st-src', 100 + g, 9000 - g
         FROM generate_series(1, 16) g`,
    );
    const ids = async (options: Parameters<WorkflowClient['list']>[0]) => (await client.list({ ...options, loadPayloads: false })).map((w) => w.workflowId);
    const all = Array.from({ length: 16 }, (_, k) => `st-${k + 1}`);
    const pick = (statuses: number[]) => all.filter((_, k) => statuses.includes((k + 1) % 4));
    for (const filter of [
      { workflowName: 'Pages.none' },
      { executorId: 'st-exec' },
      { applicationVersion: 'st-v' },
      { queue: 'st-q' },
      { forkedFrom: 'st-src' },
      { workflowIdPrefix: 'st-' },
    ]) {
      expect(await ids(filter)).toEqual(all);
      expect(await ids({ ...filter, sortDesc: true, limit: 5, offset: 2 })).toEqual([...all].reverse().slice(2, 7));
      expect(await ids({ ...filter, status: 'PENDING' })).toEqual(pick([0]));
      expect(await ids({ ...filter, status: ['ERROR', 'PENDING'] })).toEqual(pick([0, 2]));
      expect(await ids({ ...filter, status: ['SUCCESS', 'ENQUEUED'] })).toEqual(pick([1, 3]));
    }
    // Updated-time order (the reverse of creation here), across PENDING and the others, paged.
    const range = { workflowIdPrefix: 'st-', updatedAfter: new Date(0), updatedBefore: new Date(10_000) };
    expect(await ids(range)).toEqual([...all].reverse());
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let k = 0; k < 10; k++) {
      const page = await client.listPage({ ...range, limit: 3, cursor, loadPayloads: false });
      seen.push(...page.workflows.map((w) => w.workflowId));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual([...all].reverse());
    await sql(`DELETE FROM "${schema}".workflow_status WHERE workflow_id LIKE 'st-%'`);
  });

  it('has an index for each list filter (prefix with text_pattern_ops)', async () => {
    const indexes = await sql<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'workflow_status'`, [schema]);
    const defs = indexes.map((i) => i.indexdef).join('\n');
    for (const column of ['status', 'workflow_name', 'queue_name', 'executor_id', 'application_version', 'parent_workflow_id', 'forked_from', 'updated_at']) {
      expect(defs).toMatch(new RegExp(`\\(${column}[,)]`));
    }
    expect(defs).toMatch(/\(workflow_id text_pattern_ops\)/);
  });
});
