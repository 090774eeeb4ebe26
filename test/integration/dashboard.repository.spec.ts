import { DashboardRepository } from '../../lib/system-database/dashboard.repository';
import { sql } from '../support/database';
import { openRepositories, type RepositoryFixture } from '../support/repositories';
import { watchStatements } from '../support/statements';

/**
 * The dashboard's summaries read only the unfinished rows and the indexes of what they look up:
 * on a table of finished history (statistics taken before any PENDING row existed) none of their
 * statements scans workflow_status.
 */
describe('DashboardRepository', () => {
  let fixture: RepositoryFixture;
  let dashboard: DashboardRepository;

  beforeAll(async () => {
    fixture = await openRepositories('dash_repo');
    dashboard = new DashboardRepository(fixture.db, fixture.db.payloads);
    const { schema } = fixture;
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, class_name, inputs, output, executor_id,
         application_version, recovery_attempts, created_at, updated_at, run_epoch, forked_from)
       SELECT 'hist-' || g, 'SUCCESS', 'wf' || (g % 20), 'C', '[]', '1', 'exec-' || (g % 4), 'v' || (g % 3), 0, g, g + 1, 1,
              CASE WHEN g % 500 = 7 THEN 'hist-' || (g - 7) END
         FROM generate_series(1, 60000) g`,
    );
    await sql(`ANALYZE "${schema}".workflow_status`);
    await sql(
      `INSERT INTO "${schema}".workflow_status (workflow_id, status, workflow_name, class_name, inputs, executor_id, application_version,
         recovery_attempts, queue_name, created_at, updated_at, run_epoch, forked_from)
       VALUES ('live-1', 'PENDING', 'wf1', 'C', '[]', 'exec-1', 'v9', 0, NULL, 70000, 70000, 1, 'hist-1'),
              ('live-2', 'ENQUEUED', 'wf1', 'C', '[]', NULL, 'v9', 0, 'q', 70001, 70001, 1, NULL)`,
    );
  });

  afterAll(() => fixture.close());

  /** What `read` returns, and the plan of each statement it sent: the scans on workflow_status. */
  async function scansOf<T>(read: () => Promise<T>): Promise<{ result: T; seqScans: string[] }> {
    const sent: { text: string; values?: unknown[] }[] = [];
    const result = await watchStatements((text, values) => {
      if (text.includes('workflow_status')) sent.push({ text, values });
    }, read);
    expect(sent.length).toBeGreaterThan(0);
    const seqScans: string[] = [];
    for (const { text, values } of sent) {
      const lines = (await sql<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, values)).map((r) => r['QUERY PLAN']);
      seqScans.push(...lines.filter((line) => /Seq Scan on workflow_status/.test(line)));
    }
    return { result, seqScans };
  }

  it('versionLoads counts PENDING and ENQUEUED per version from their partial indexes', async () => {
    const { result, seqScans } = await scansOf(() => dashboard.versionLoads());
    expect(result).toEqual([{ applicationVersion: 'v9', pending: 1, enqueued: 1 }]);
    expect(seqScans).toEqual([]);
  });

  it('relatives finds finished and PENDING forks through indexes', async () => {
    const { result, seqScans } = await scansOf(() => dashboard.relatives('hist-1'));
    expect(result.forks.map((f) => f.workflowId)).toEqual(['live-1']);
    const finished = await scansOf(() => dashboard.relatives('hist-500'));
    expect(finished.result.forks.map((f) => f.workflowId)).toEqual(['hist-507']);
    expect([...seqScans, ...finished.seqScans]).toEqual([]);
  });

  it('unfinishedOfVersion lists a version’s PENDING and ENQUEUED workflows from their partial indexes', async () => {
    const { result, seqScans } = await scansOf(() => dashboard.unfinishedOfVersion('v9', 10));
    expect(result).toEqual(['live-1', 'live-2']);
    expect(seqScans).toEqual([]);
  });
});
