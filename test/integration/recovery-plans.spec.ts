import { Client } from 'pg';
import { VersionAdoptionRepository } from '../../lib/system-database/version-adoption.repository';
import { databaseUrl, sql } from '../support/database';
import { openRepositories, stepRow, type RepositoryFixture } from '../support/repositories';
import { watchStatements } from '../support/statements';

// Months of finished history, statistics taken then (no row PENDING), then a crash leaves
// workflows PENDING: the planner believes the partial indexes `WHERE status = 'PENDING'` empty.
// A fence or a claim of named rows that let it pick such an index walked every PENDING row per
// row looked up (a recovery of N workflows: N² rows read). These are the plans of the statements
// recovery, takeover and every fenced write send, on such a schema.
const HISTORY = 20_000;
const PENDING = 300;

interface ScanNode {
  type: string;
  relation: string | undefined;
  alias: string | undefined;
  index: string | undefined;
}

function scansOf(plan: Record<string, unknown>): ScanNode[] {
  const found: ScanNode[] = [];
  const walk = (node: Record<string, unknown>) => {
    if (/Scan/.test(String(node['Node Type'])))
      found.push({
        type: String(node['Node Type']),
        relation: node['Relation Name'] as string | undefined,
        alias: node['Alias'] as string | undefined,
        index: node['Index Name'] as string | undefined,
      });
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  walk(plan);
  return found;
}

const step = stepRow;

describe('recovery and fence statements on a large finished history', () => {
  let f: RepositoryFixture;
  let probe: Client;

  beforeAll(async () => {
    f = await openRepositories('plans');
    const t = `"${f.schema}"`;
    await sql(
      `INSERT INTO ${t}.workflow_status (workflow_id, status, workflow_name, class_name, inputs, output, executor_id, application_version,
         created_at, updated_at, run_epoch)
       SELECT 'hist-' || g, 'SUCCESS', 'Repo.run', 'Repo', '[]', '1', 'exec-a', 'v1', g, g, 1 FROM generate_series(1, ${HISTORY}) g`,
    );
    await sql(
      `INSERT INTO ${t}.operation_outputs (workflow_id, step_id, step_name, output)
       SELECT 'hist-' || g, s, 's' || s, '1' FROM generate_series(1, ${HISTORY}) g, generate_series(0, 2) s`,
    );
    await sql(`ANALYZE ${t}.workflow_status`);
    await sql(`ANALYZE ${t}.operation_outputs`);
    // Then the crash: PENDING workflows of a silent executor, their first step recorded.
    const old = Date.now() - 600_000;
    await sql(
      `INSERT INTO ${t}.workflow_status (workflow_id, status, workflow_name, class_name, inputs, executor_id, application_version,
         created_at, updated_at, started_at)
       SELECT 'p-' || g, 'PENDING', 'Repo.run', 'Repo', '[]', 'exec-a', 'v1', $1::bigint + g, $1::bigint + g, $1::bigint + g
         FROM generate_series(1, ${PENDING}) g`,
      [old],
    );
    await sql(
      `INSERT INTO ${t}.operation_outputs (workflow_id, step_id, step_name, output) SELECT 'p-' || g, 0, 's0', '1' FROM generate_series(1, ${PENDING}) g`,
    );
    probe = new Client({ connectionString: databaseUrl() });
    await probe.connect();
  });
  afterAll(async () => {
    await probe?.end();
    await f?.close();
  });

  /** The plans (scan nodes) Postgres chooses for the statements on workflow_status that `work` sends. */
  async function plansOf(work: () => Promise<unknown>): Promise<ScanNode[][]> {
    const sent: { text: string; values: unknown[] | undefined }[] = [];
    await watchStatements((text, values) => {
      if (text.includes(`"${f.schema}".workflow_status`)) sent.push({ text, values });
    }, work);
    expect(sent.length).toBeGreaterThan(0);
    const plans: ScanNode[][] = [];
    for (const s of sent) {
      const { rows } = await probe.query(`EXPLAIN (FORMAT JSON) ${s.text}`, s.values);
      plans.push(scansOf(rows[0]['QUERY PLAN'][0].Plan));
    }
    return plans;
  }

  const onStatus = (scans: ScanNode[]) => scans.filter((s) => s.relation === 'workflow_status');

  /** Every read of workflow_status is a lookup by primary key. */
  function expectByPrimaryKey(plans: ScanNode[][]) {
    for (const scans of plans) {
      expect(onStatus(scans).length).toBeGreaterThan(0);
      for (const scan of onStatus(scans)) expect(`${scan.type} ${scan.index}`).toMatch(/^Index (Only )?Scan workflow_status_pkey$/);
    }
  }

  it('the checkpoint fence (one row, a batch, the re-check) looks the workflow up by primary key', async () => {
    expectByPrimaryKey(await plansOf(() => f.repos.checkpoints.record(step('p-1', 1), 0)));
    expectByPrimaryKey(await plansOf(() => Promise.all([2, 3, 4, 5, 6, 7].map((i) => f.repos.checkpoints.record(step(`p-${i}`, 1), 0)))));
    expectByPrimaryKey(await plansOf(() => f.repos.checkpoints.notRecorded('p-8', 1, 0)));
    expectByPrimaryKey(await plansOf(() => f.repos.checkpoints.recordWith(f.db, step('p-9', 1), 0)));
  });

  it('recording outcomes (with their last checkpoint) fences by primary key, alone and batched', async () => {
    const outcome = (i: number) => ({
      workflowId: `p-${i}`,
      status: 'SUCCESS' as const,
      output: '1',
      error: null,
      epoch: 0,
      lastCheckpoint: step(`p-${i}`, 1),
    });
    expectByPrimaryKey(await plansOf(() => f.repos.lifecycle.complete(outcome(10))));
    expectByPrimaryKey(await plansOf(() => Promise.all([11, 12, 13, 14].map((i) => f.repos.lifecycle.complete(outcome(i))))));
  });

  it('claiming one workflow for recovery and the ownership check read it by primary key', async () => {
    expectByPrimaryKey(await plansOf(() => f.repos.recovery.claimForRecovery('p-20', 'exec-a', 0)));
    expectByPrimaryKey(await plansOf(() => f.repos.recovery.isOwnedBy('p-21', 'exec-a', 0)));
    expectByPrimaryKey(await plansOf(() => f.repos.recovery.lostRuns([{ workflowId: 'p-22', epoch: 0 }], 'exec-a')));
  });

  it('batched claims (restart, takeover) find their rows in a PENDING index and update them by primary key', async () => {
    const claims = [
      () => f.repos.recovery.claimPendingBatch('exec-a', 'v1', ['Repo.run'], null, [], 20, Date.now()),
      () => f.repos.executors.adoptBatch('v1', 'exec-b', 1_000, ['Repo.run'], 20),
    ];
    for (const claim of claims) {
      const [scans] = await plansOf(claim);
      expect(onStatus(scans).filter((s) => s.type === 'Seq Scan')).toEqual([]);
      // The UPDATE's own rows (alias w): by primary key, not by walking the PENDING rows per row picked.
      const target = onStatus(scans).filter((s) => s.alias === 'w');
      expect(target.map((s) => `${s.type} ${s.index}`)).toEqual(['Index Scan workflow_status_pkey']);
    }
  });

  it('moving a stranded workflow to a new version is fenced by primary key', async () => {
    const versions = new VersionAdoptionRepository(f.db);
    const [row] = await f.repos.listing.getMany(['p-30']).then((m) => [...m.values()]);
    expectByPrimaryKey(await plansOf(() => versions.adopt(row, 'exec-c', 'v2', 1_000)));
  });

  it('the start-up counts read the unfinished rows only, never the whole history', async () => {
    const counts = [
      () => f.repos.admin.countOtherVersions('v2'),
      () => f.repos.recovery.countPendingUnknown('exec-a', 'v1', ['Repo.run']),
      () => f.repos.recovery.findPendingIds('exec-a', 'v1', 0),
    ];
    for (const count of counts) for (const scans of await plansOf(count)) expect(onStatus(scans).filter((s) => s.type === 'Seq Scan')).toEqual([]);
  });
});
