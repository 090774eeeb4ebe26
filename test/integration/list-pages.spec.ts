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
    await sql(
      `UPDATE "${schema}".workflow_status SET updated_at = 5000000 - substr(workflow_id, 6)::int * 1000 WHERE workflow_id LIKE 'page-%'`,
    );
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

  it('leaves SUCCESS out of the status index (a completion adds no entry to it) and still lists every status', async () => {
    const [def] = await sql<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'workflow_status_status_created_idx'`,
      [schema],
    );
    expect(def.indexdef).toMatch(/WHERE \(status <> 'SUCCESS'::text\)/);
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, created_at, updated_at)
       VALUES ('st-error', 'ERROR', 'Pages.none', 1, 1), ('st-cancelled', 'CANCELLED', 'Pages.none', 2, 2)`,
    );
    const ids = async (status: Parameters<WorkflowClient['list']>[0]) => (await client.list({ ...status, loadPayloads: false })).map((w) => w.workflowId);
    expect(await ids({ status: 'ERROR', workflowName: 'Pages.none' })).toEqual(['st-error']);
    expect(await ids({ status: ['ERROR', 'CANCELLED'], workflowName: 'Pages.none' })).toEqual(['st-error', 'st-cancelled']);
    expect((await ids({ status: 'SUCCESS', workflowIdPrefix: 'page-' })).length).toBe(25);
    expect((await ids({ status: ['SUCCESS', 'ERROR'], workflowIdPrefix: 'st-' })).length).toBe(1);
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
