'use strict';
// Finished history for the workloads that measure a schema months into production (scale,
// recovery --history-rows): `rows` finished workflows (0.1% ERROR, 1% CANCELLED, the rest
// SUCCESS; 3 checkpoints each) over the 30 days before `base` + 30 days, inserted with
// generate_series in chunks, then VACUUM ANALYZE: the statistics (and visibility map) a table
// has after autovacuum went over that history, with none of the rows a later crash leaves PENDING.
// Every workflow has attributes: tenant t0..t999 (0.1% each), region r0..r3 (25% each) and its
// own orderId, as an app that labels each workflow with its tenant and order does.
const DAY = 86_400_000;
const FILL_CHUNK = 100_000;

async function fillHistory(probe, rows, { base, label }) {
  const step = (30 * DAY) / rows;
  const id = (g) => `'hist-' || lpad((${g})::text, 8, '0')`;
  for (let from = 1; from <= rows; from += FILL_CHUNK) {
    const to = Math.min(rows, from + FILL_CHUNK - 1);
    await probe.query(
      `INSERT INTO dbos.workflow_status (workflow_id, status, workflow_name, class_name, inputs, output, error, executor_id,
         application_version, recovery_attempts, queue_name, priority, started_at, created_at, updated_at, run_epoch,
         parent_workflow_id, forked_from, attributes)
       SELECT ${id('g')},
              CASE WHEN g % 1000 = 0 THEN 'ERROR' WHEN g % 97 = 0 THEN 'CANCELLED' ELSE 'SUCCESS' END,
              'wf' || (g % 20), 'BenchService', '[1]', CASE WHEN g % 1000 = 0 THEN NULL ELSE '1' END,
              CASE WHEN g % 1000 = 0 THEN '{"name":"Error","message":"boom"}' END,
              'exec-' || (g % 10), 'v' || (g % 3), 0, CASE WHEN g % 4 = 0 THEN 'q' || (g % 8) END, 0,
              $1::bigint + (g * $2::float8)::bigint, $1::bigint + (g * $2::float8)::bigint, $1::bigint + (g * $2::float8)::bigint + 5, 1,
              CASE WHEN g % 10 = 1 AND g > 1 THEN ${id('g - 1')} END,
              CASE WHEN g % 1000 = 7 THEN ${id('g - 7')} END,
              jsonb_build_object('tenant', 't' || (g % 1000), 'region', 'r' || (g % 4), 'orderId', 'o-' || g)
         FROM generate_series($3::int, $4::int) g`,
      [base, step, from, to],
    );
    await probe.query(
      `INSERT INTO dbos.operation_outputs (workflow_id, step_id, step_name, output, started_at, completed_at)
       SELECT ${id('g')}, s, 's' || s, '1', $1::bigint + (g * $2::float8)::bigint, $1::bigint + (g * $2::float8)::bigint + 1
         FROM generate_series($3::int, $4::int) g, generate_series(0, 2) s`,
      [base, step, from, to],
    );
    if (to % 1_000_000 === 0 || to === rows) console.error(`[${label}] filled ${to} of ${rows} finished workflows`);
  }
  await probe.query('VACUUM ANALYZE dbos.workflow_status');
  await probe.query('VACUUM ANALYZE dbos.operation_outputs');
}

module.exports = { fillHistory, DAY };
