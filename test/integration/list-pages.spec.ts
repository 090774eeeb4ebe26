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

  it('has an index for each list filter (prefix with text_pattern_ops)', async () => {
    const indexes = await sql<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'workflow_status'`, [schema]);
    const defs = indexes.map((i) => i.indexdef).join('\n');
    for (const column of ['status', 'workflow_name', 'queue_name', 'executor_id', 'application_version', 'parent_workflow_id', 'forked_from', 'updated_at']) {
      expect(defs).toMatch(new RegExp(`\\(${column}[,)]`));
    }
    expect(defs).toMatch(/\(workflow_id text_pattern_ops\)/);
  });
});
