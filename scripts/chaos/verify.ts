/**
 * The checks of the chaos run, on a snapshot of what the database recorded, what the HTTP service
 * saw and what the orchestrator did. Pure: run.ts gathers the snapshot and prints the findings.
 */
import { deserialize, deserializeError } from '../../lib/serialization/value.codec';
import type { ServiceRequest } from './service';
import {
  CLIENT_CLOSED_ERROR,
  HTTP_RETRIES,
  HTTP_STEP_NAME,
  PARTITIONED_QUEUE,
  QUEUE,
  SERVICE_ERROR,
  type ChaosInput,
  type HttpInput,
  type ParentInput,
  type ServiceReply,
} from './shared';

export type Kind = 'run' | 'partition' | 'http' | 'parent';

/** A workflow the orchestrator enqueued. */
export interface Planned {
  kind: Kind;
  workflowName: string;
  queue: string;
  partitionKey?: string;
  input: ChaosInput | HttpInput | ParentInput;
}

export type FaultKind =
  | 'kill'
  | 'sigterm'
  | 'connection-kill'
  | 'blackhole'
  | 'heal-cut'
  | 'proxy-cut'
  | 'proxy-delay'
  | 'proxy-refuse'
  | 'service-refuse'
  | 'service-fail'
  | 'cancel';

export interface FaultEvent {
  at: number;
  kind: FaultKind;
  target: string;
}

/**
 * Faults after which a workflow may legitimately run its body again without a recovery being
 * counted: a lost connection makes a running workflow replay from its checkpoints in-process.
 */
const REPLAY_FAULTS = new Set<FaultKind>(['kill', 'sigterm', 'connection-kill', 'blackhole', 'heal-cut', 'proxy-cut', 'proxy-refuse']);

export interface StatusRow {
  workflow_id: string;
  workflow_name: string;
  status: string;
  executor_id: string | null;
  recovery_attempts: number;
  error: string | null;
  parent_workflow_id: string | null;
  created_at: number;
  updated_at: number;
}

export interface StepRow {
  workflow_id: string;
  step_id: number;
  step_name: string;
  output: string | null;
  error: string | null;
  started_at: number | null;
  completed_at: number | null;
}

export interface Snapshot {
  planned: Map<string, Planned>;
  /** Enqueued ids known to exist (acknowledged, or with a status row). */
  startedIds: string[];
  /** Every workflow_status row of the run's schema, by id. */
  statuses: Map<string, StatusRow>;
  effects: { workflow_id: string; step: number; n: number }[];
  /** Who wrote each duplicated row and when: by `<id>#<step>` for effects, `<id>#begin` for begin marks. */
  duplicateWriters: Map<string, string>;
  /** Begin/end marks: how many begins, first begin and last end (epoch ms). */
  runs: { workflow_id: string; n: number; s: number | null; e: number | null }[];
  /** Every operation_outputs row with an error, and every row of the HTTP step. */
  steps: StepRow[];
  /** The decoded output of every SUCCESS workflow checked (top-level and children), or why it could not be decoded. */
  results: Map<string, { value: unknown } | { error: Error }>;
  /** Requests the HTTP service saw, by workflow id. */
  requests: Map<string, ServiceRequest[]>;
  events: FaultEvent[];
  /** Parents cancelled while they ran, with when they were cancelled and resumed. */
  cancelled: Map<string, { at: number; resumedAt?: number; resumeError?: string }>;
  t0: number;
}

export interface Findings {
  started: number;
  completed: number;
  httpFailed: number;
  lost: number;
  duplicated: number;
  wrongOutput: number;
  badHttpFailures: number;
  retryOverruns: number;
  unexpectedErrors: number;
  shutdownErrors: number;
  cancelFailures: number;
  maxConcurrency: number;
  maxPartitionConcurrency: number;
  /** The longest time (ms) in which no workflow finished although some were waiting to. */
  maxStall: number;
  /** Workflows that did not end as expected, and workflows with duplicated rows, for a closer look. */
  notSuccess: string[];
  duplicatedIds: string[];
  diagnostics: string[];
}

interface Expectation {
  id: string;
  kind: Kind | 'child';
  input: ChaosInput | HttpInput | ParentInput;
  planned?: Planned;
}

const SAMPLES = 10;
/**
 * Longer than any legitimate pause of the whole run: a worker is back within about 3 s of a kill
 * plus its boot, a graceful stop takes at most the shutdown timeout, an adoption one lease.
 */
export const STALL_LIMIT_MS = 30_000;

/** Keeps the first SAMPLES lines of each kind of finding, and how many there were in all. */
class Samples {
  private readonly lines = new Map<string, { shown: string[]; total: number }>();
  add(kind: string, line: string): void {
    const entry = this.lines.get(kind) ?? { shown: [], total: 0 };
    entry.total++;
    if (entry.shown.length < SAMPLES) entry.shown.push(line);
    this.lines.set(kind, entry);
  }
  render(): string[] {
    return [...this.lines].map(([kind, { shown, total }]) => `${kind} (${total}${total > shown.length ? `, first ${shown.length}` : ''}): ${shown.join('; ')}`);
  }
}

function parseError(text: string | null): (Error & { execution?: string }) | undefined {
  if (text === null) return undefined;
  try {
    return deserializeError(text) as Error & { execution?: string };
  } catch {
    return Object.assign(new Error(text.slice(0, 300)), { name: '(unreadable)' });
  }
}

/** Errors that say the shutdown of a worker, not the operation, failed it. */
function isShutdownError(err: Error): boolean {
  return (
    err.name === CLIENT_CLOSED_ERROR ||
    err.name === 'DbosShutdownInterrupt' ||
    /shutting down|after calling end on the pool|pool is (closed|ending)|DataSource.*(destroyed|not initialized)/i.test(err.message)
  );
}

function expectedSteps(e: Expectation, status: string | undefined): number[] {
  if (e.kind === 'http') return status === 'ERROR' ? [1] : [1, 2];
  if (e.kind === 'parent') return [1, 2];
  return (e.input as ChaosInput).pauses.map((_, i) => i + 1);
}

function expectedOutput(e: Expectation): unknown {
  if (e.kind === 'http') return { seq: e.input.seq, reply: `pong:${e.id}` };
  if (e.kind === 'parent') return { seq: e.input.seq, child: (e.input as ParentInput).child };
  return e.input;
}

/** The peak number of [start, end] intervals open at one instant, and the ids open then. */
export function peakOverlap(intervals: { id: string; s: number; e: number }[]): { max: number; ids: string[] } {
  const events = intervals.flatMap((iv) => [[iv.s, 1, iv.id] as const, [iv.e, -1, iv.id] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const open = new Set<string>();
  let max = 0;
  let ids: string[] = [];
  for (const [, delta, id] of events) {
    if (delta > 0) open.add(id);
    else open.delete(id);
    if (open.size > max) {
      max = open.size;
      ids = [...open];
    }
  }
  return { max, ids };
}

export function verify(snapshot: Snapshot): Findings {
  const { planned, statuses } = snapshot;
  const rel = (at: number) => `+${((at - snapshot.t0) / 1000).toFixed(1)}s`;
  const samples = new Samples();
  const diagnostics: string[] = [];
  const lost = new Set<string>();
  const notSuccess: string[] = [];
  const duplicatedIds = new Set<string>();
  let duplicated = 0;
  let wrongOutput = 0;
  let httpFailed = 0;
  let badHttpFailures = 0;
  let retryOverruns = 0;
  let unexpectedErrors = 0;
  let shutdownErrors = 0;
  let cancelFailures = 0;

  // ----- what should exist: every started workflow, and the one child of each parent
  const expectations: Expectation[] = [];
  const childrenOf = new Map<string, StatusRow[]>();
  for (const row of statuses.values()) {
    if (row.parent_workflow_id === null) continue;
    childrenOf.set(row.parent_workflow_id, [...(childrenOf.get(row.parent_workflow_id) ?? []), row]);
  }
  for (const id of snapshot.startedIds) {
    const p = planned.get(id)!;
    expectations.push({ id, kind: p.kind, input: p.input, planned: p });
    if (p.kind !== 'parent') continue;
    const children = childrenOf.get(id) ?? [];
    const status = statuses.get(id)?.status;
    if (children.length > 1) {
      lost.add(id);
      samples.add('parents with more than one child', `${id}: ${children.map((c) => `${c.workflow_id}(${c.status})`).join(', ')}`);
    } else if (children.length === 0 && status !== undefined) {
      lost.add(id);
      samples.add('parents without a child', `${id} (${status})`);
    }
    for (const child of children) expectations.push({ id: child.workflow_id, kind: 'child', input: (p.input as ParentInput).child });
  }
  const known = new Map(expectations.map((e) => [e.id, e]));

  // ----- HTTP: what the service saw, per execution of the step
  const httpStep = new Map(snapshot.steps.filter((s) => s.step_name === HTTP_STEP_NAME).map((s) => [s.workflow_id, s]));
  const faultsBetween = (from: number, to: number) => snapshot.events.filter((ev) => REPLAY_FAULTS.has(ev.kind) && ev.at >= from && ev.at <= to).length;
  let maxExecutions = 0;
  let maxRequests = 0;
  const checkRequests = (e: Expectation, row: StatusRow) => {
    const requests = snapshot.requests.get(e.id) ?? [];
    const perExecution = new Map<string, number>();
    for (const r of requests) perExecution.set(r.execution, (perExecution.get(r.execution) ?? 0) + 1);
    maxExecutions = Math.max(maxExecutions, perExecution.size);
    maxRequests = Math.max(maxRequests, requests.length);
    for (const [execution, n] of perExecution) {
      if (n > HTTP_RETRIES.maxAttempts) {
        retryOverruns++;
        samples.add(`HTTP step executions with more than ${HTTP_RETRIES.maxAttempts} attempts`, `${e.id} execution ${execution}: ${n} requests`);
      }
    }
    // Every run of the body may use maxAttempts; runs come from recoveries and from replays
    // after a lost connection (each fault in the workflow's lifetime allows one).
    const faults = faultsBetween(row.created_at, row.updated_at);
    const allowed = HTTP_RETRIES.maxAttempts * (1 + row.recovery_attempts + faults);
    if (requests.length > allowed) {
      retryOverruns++;
      samples.add(
        'workflows that called the HTTP service more than maxAttempts x (1 + recoveries + faults during their life)',
        `${e.id}: ${requests.length} requests in ${perExecution.size} execution(s), allowed ${allowed} (recovery_attempts=${row.recovery_attempts}, faults=${faults})`,
      );
    }
  };

  /** An HTTP workflow in ERROR: justified only by its HTTP step failing through all attempts. */
  const judgeHttpFailure = (e: Expectation, row: StatusRow): string | undefined => {
    const err = parseError(row.error);
    if (!err) return 'ERROR without a recorded error';
    if (err.name !== SERVICE_ERROR) return `ERROR with ${err.name}: ${err.message} (not a failure of the HTTP service)`;
    const step = httpStep.get(e.id);
    if (!step || step.error === null) return `ERROR with ${err.name}, but its HTTP step has no error recorded in operation_outputs`;
    const stepErr = parseError(step.error)!;
    if (stepErr.name !== err.name || stepErr.message !== err.message) {
      return `its error (${err.name}: ${err.message}) is not the HTTP step's recorded error (${stepErr.name}: ${stepErr.message})`;
    }
    if (!stepErr.execution) return `the HTTP step's recorded error names no execution: ${stepErr.message}`;
    const answered = (snapshot.requests.get(e.id) ?? []).find((r) => r.execution === stepErr.execution && r.status === 200);
    if (answered) {
      return `the service answered 200 to execution ${stepErr.execution} at ${rel(answered.at)}, yet its step recorded a failure (${stepErr.message})`;
    }
    return undefined;
  };

  // ----- per workflow: final state, effects, begin/end marks, output
  const effectCount = new Map(snapshot.effects.map((x) => [`${x.workflow_id}#${x.step}`, x.n]));
  const runOf = new Map(snapshot.runs.map((r) => [r.workflow_id, r]));
  let completed = 0;
  for (const e of expectations) {
    const row = statuses.get(e.id);
    const top = e.kind !== 'child';
    if (!row) {
      lost.add(e.id);
      samples.add('acknowledged but without a workflow_status row', e.id);
      continue;
    }
    if (e.kind === 'http') checkRequests(e, row);
    let endExpected = true;
    if (e.kind === 'http' && row.status === 'ERROR') {
      endExpected = false;
      const problem = judgeHttpFailure(e, row);
      if (problem) {
        badHttpFailures++;
        notSuccess.push(e.id);
        samples.add('HTTP workflows in ERROR for a wrong reason', `${e.id}: ${problem}`);
      } else {
        httpFailed++;
      }
    } else if (row.status !== 'SUCCESS') {
      lost.add(e.id);
      notSuccess.push(e.id);
    } else if (top) {
      completed++;
    }
    for (const step of expectedSteps(e, row.status)) {
      const n = effectCount.get(`${e.id}#${step}`) ?? 0;
      if (n === 0 && (row.status === 'SUCCESS' || !endExpected)) {
        lost.add(e.id);
        samples.add('missing effects', `${e.id} step ${step}`);
      }
    }
    const run = runOf.get(e.id);
    if (!run) {
      if (row.status === 'SUCCESS' || !endExpected) {
        lost.add(e.id);
        samples.add('missing begin marks', e.id);
      }
    } else {
      if (run.n > 1) {
        duplicated += run.n - 1;
        samples.add('duplicated begin marks', `${e.id} x${run.n} (${snapshot.duplicateWriters.get(`${e.id}#begin`) ?? '?'})`);
        duplicatedIds.add(e.id);
      }
      if (endExpected && run.e === null && row.status === 'SUCCESS') {
        lost.add(e.id);
        samples.add('missing end marks', e.id);
      }
      if (!endExpected && run.e !== null) {
        badHttpFailures++;
        samples.add('HTTP workflows in ERROR that ran past their failed HTTP step', `${e.id} has an end mark`);
      }
    }
    if (row.status === 'SUCCESS') {
      const result = snapshot.results.get(e.id);
      const expected = expectedOutput(e);
      if (!result) {
        wrongOutput++;
        samples.add('wrong outputs', `${e.id}: no result read`);
      } else if ('error' in result) {
        wrongOutput++;
        samples.add('wrong outputs', `${e.id}: its output cannot be decoded: ${result.error.message}`);
      } else if (JSON.stringify(result.value) !== JSON.stringify(expected)) {
        wrongOutput++;
        samples.add('wrong outputs', `${e.id}: got ${JSON.stringify(result.value)}, expected ${JSON.stringify(expected)}`);
      }
      if (e.kind === 'http') {
        const step = httpStep.get(e.id);
        const reply = step?.output ? deserialize<ServiceReply>(step.output) : undefined;
        if (!reply || !(snapshot.requests.get(e.id) ?? []).some((r) => r.execution === reply.execution && r.status === 200)) {
          wrongOutput++;
          samples.add('HTTP steps that recorded a reply the service never gave', `${e.id}: ${step?.output ?? '(no HTTP step recorded)'}`);
        }
      }
    }
  }

  // Effect rows: exactly one per (workflow, expected step), none elsewhere.
  for (const x of snapshot.effects) {
    if (x.n > 1) {
      duplicated += x.n - 1;
      samples.add('duplicated effects', `${x.workflow_id} step ${x.step} x${x.n} (${snapshot.duplicateWriters.get(`${x.workflow_id}#${x.step}`) ?? '?'})`);
      duplicatedIds.add(x.workflow_id);
    }
    const e = known.get(x.workflow_id);
    if (!e || !expectedSteps(e, statuses.get(x.workflow_id)?.status).includes(x.step)) {
      duplicated += x.n;
      samples.add('unexpected effect rows', `${x.workflow_id} step ${x.step} x${x.n}`);
    }
  }

  // ----- recorded errors: only the HTTP step's failure (and the workflow it failed) may be recorded
  const recordedErrors: { where: string; err: Error }[] = [];
  for (const step of snapshot.steps) {
    if (step.error === null) continue;
    const err = parseError(step.error)!;
    const allowed = step.step_name === HTTP_STEP_NAME && err.name === SERVICE_ERROR && known.get(step.workflow_id)?.kind === 'http';
    if (!allowed) recordedErrors.push({ where: `${step.workflow_id} step ${step.step_id} (${step.step_name})`, err });
  }
  for (const row of statuses.values()) {
    if (row.error === null) continue;
    const err = parseError(row.error)!;
    const allowed = err.name === SERVICE_ERROR && known.get(row.workflow_id)?.kind === 'http' && row.status === 'ERROR';
    if (!allowed) recordedErrors.push({ where: `${row.workflow_id} (status ${row.status})`, err });
  }
  for (const { where, err } of recordedErrors) {
    unexpectedErrors++;
    const shutdown = isShutdownError(err);
    if (shutdown) shutdownErrors++;
    samples.add(shutdown ? 'errors recorded because a worker shut down' : 'unexpected recorded errors', `${where}: ${err.name}: ${err.message}`);
  }

  // ----- cancelled and resumed parents: each must have ended like any other
  for (const [id, c] of snapshot.cancelled) {
    const row = statuses.get(id);
    const children = childrenOf.get(id) ?? [];
    const childBad = children.some((child) => child.status !== 'SUCCESS');
    if (row?.status === 'SUCCESS' && !lost.has(id) && !childBad && children.every((child) => !lost.has(child.workflow_id))) continue;
    cancelFailures++;
    const err = parseError(row?.error ?? null);
    samples.add(
      'parents cancelled while running and resumed that did not end SUCCESS with their child',
      `${id} cancelled ${rel(c.at)}, ${c.resumedAt ? `resumed ${rel(c.resumedAt)}` : `never resumed (${c.resumeError ?? 'no resume'})`}: ` +
        `${row?.status ?? 'no row'}${err ? ` (${err.name}: ${err.message})` : ''}; child ${children.map((ch) => `${ch.workflow_id}=${ch.status}`).join(', ') || 'none'}`,
    );
  }

  // ----- queue limits, from the begin/end marks
  const intervalOf = (e: Expectation): { id: string; s: number; e: number } | undefined => {
    const run = runOf.get(e.id);
    const row = statuses.get(e.id);
    if (!run || run.s === null || !row) return undefined;
    // A failed HTTP workflow has no end mark: it held its slot until its failure was recorded.
    const end = run.e ?? (row.status === 'ERROR' ? row.updated_at : null);
    return end === null ? undefined : { id: e.id, s: run.s, e: end };
  };
  const onMainQueue = expectations
    .filter((e) => e.planned?.queue === QUEUE.name)
    .map(intervalOf)
    .filter((iv) => iv !== undefined);
  const global = peakOverlap(onMainQueue);
  if (global.max > QUEUE.concurrency) {
    diagnostics.push(
      `queue "${QUEUE.name}" concurrency exceeded: ${global.max} runs overlapped (limit ${QUEUE.concurrency}): ${global.ids.slice(0, 30).join(' ')}`,
    );
  }
  const byPartition = new Map<string, { id: string; s: number; e: number }[]>();
  for (const e of expectations) {
    if (e.planned?.queue !== PARTITIONED_QUEUE.name) continue;
    const iv = intervalOf(e);
    if (iv) byPartition.set(e.planned.partitionKey!, [...(byPartition.get(e.planned.partitionKey!) ?? []), iv]);
  }
  let maxPartitionConcurrency = 0;
  for (const [key, intervals] of [...byPartition].sort()) {
    const peak = peakOverlap(intervals);
    maxPartitionConcurrency = Math.max(maxPartitionConcurrency, peak.max);
    if (peak.max > PARTITIONED_QUEUE.partitionConcurrency) {
      const shown = peak.ids.map((id) => {
        const iv = intervals.find((x) => x.id === id)!;
        return `${id} [${rel(iv.s)}, ${rel(iv.e)}]`;
      });
      diagnostics.push(
        `partition "${key}" of queue "${PARTITIONED_QUEUE.name}" ran ${peak.max} workflows at once (partitionConcurrency ${PARTITIONED_QUEUE.partitionConcurrency}): ${shown.join(', ')}`,
      );
    }
  }

  // ----- liveness: the longest time nothing finished while work was waiting
  const top = snapshot.startedIds.map((id) => statuses.get(id)).filter((row) => row !== undefined);
  const finishes = top
    .filter((row) => row.status !== 'PENDING' && row.status !== 'ENQUEUED')
    .map((row) => row.updated_at)
    .sort((a, b) => a - b);
  let maxStall = 0;
  let stallAt = 0;
  for (let i = 1; i < finishes.length; i++) {
    const [from, to] = [finishes[i - 1], finishes[i]];
    if (to - from <= maxStall) continue;
    if (top.some((row) => row.created_at <= from && row.updated_at >= to)) {
      maxStall = to - from;
      stallAt = from;
    }
  }
  if (maxStall > STALL_LIMIT_MS) {
    const during = snapshot.events
      .filter((ev) => ev.at >= stallAt - 15_000 && ev.at <= stallAt + maxStall)
      .map((ev) => `${ev.kind} ${ev.target} ${rel(ev.at)}`);
    diagnostics.push(
      `no workflow finished for ${(maxStall / 1000).toFixed(1)} s from ${rel(stallAt)} although work was waiting (limit ${STALL_LIMIT_MS / 1000} s); ` +
        `faults from 15 s before: ${during.join(', ') || 'none'}`,
    );
  }

  diagnostics.push(...samples.render());
  if (snapshot.requests.size > 0) {
    diagnostics.push(`HTTP: at most ${maxRequests} requests and ${maxExecutions} execution(s) of the step for one workflow`);
  }
  return {
    started: snapshot.startedIds.length,
    completed,
    httpFailed,
    lost: lost.size,
    duplicated,
    wrongOutput,
    badHttpFailures,
    retryOverruns,
    unexpectedErrors,
    shutdownErrors,
    cancelFailures,
    maxConcurrency: global.max,
    maxPartitionConcurrency,
    maxStall,
    notSuccess,
    duplicatedIds: [...duplicatedIds],
    diagnostics,
  };
}
