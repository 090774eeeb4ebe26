/**
 * What the run can still tell about a workflow that did not finish: the lines the workers logged
 * about it, and what the workers' database sessions are doing now (a statement waiting on a lock,
 * a transaction left open). Printed with the diagnostics of a failed run, so a failure seen only
 * in CI (whose logs are gone) says where the workflow stopped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The last `max` lines of every worker log that mention `workflowId`, each prefixed with its file. */
export function logLinesAbout(logDir: string, workflowId: string, max = 8): string[] {
  const found: string[] = [];
  const files = fs.existsSync(logDir) ? fs.readdirSync(logDir).filter((f) => f.endsWith('.log')) : [];
  for (const file of files.sort()) {
    const text = fs.readFileSync(path.join(logDir, file), 'utf8');
    for (const line of text.split('\n')) if (line.includes(workflowId)) found.push(`${file}: ${line.slice(0, 400)}`);
  }
  return found.slice(-max);
}

export interface SessionRow {
  application_name: string;
  state: string | null;
  wait: string | null;
  xact_age_ms: number | null;
  query_age_ms: number | null;
  query: string | null;
}

/** The workers' sessions that are not idle (one line each), found by their application_name prefix. */
export const BUSY_SESSIONS_SQL = `
  SELECT application_name, state, wait_event_type || ':' || wait_event AS wait,
         (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::bigint AS xact_age_ms,
         (extract(epoch FROM clock_timestamp() - query_start) * 1000)::bigint AS query_age_ms,
         left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query
    FROM pg_stat_activity
   WHERE starts_with(application_name, $1) AND state IS DISTINCT FROM 'idle'
   ORDER BY xact_start NULLS LAST`;

export function describeSession(row: SessionRow): string {
  return `${row.application_name} ${row.state} wait=${row.wait ?? '-'} xact=${row.xact_age_ms ?? '-'}ms query=${row.query_age_ms ?? '-'}ms: ${row.query ?? ''}`;
}
