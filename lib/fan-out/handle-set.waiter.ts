import type { WorkflowClock } from '../common/clock';
import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import { DbosTimeoutError } from '../errors/timeout.error';
import { markWorkflowFailure, type WorkflowFailureStatus } from '../errors/workflow-failure.mark';
import type { ListingRepository } from '../system-database/listing.repository';
import type { NotificationListener } from '../system-database/notification.listener';
import { NOTICE_PREFIX, statusKey } from '../system-database/system.names';
import type { WorkflowStatusRow } from '../system-database/system.rows';
import { isTerminal, outcomeOf } from '../workflow/workflow.outcome';

/** How long a wake waits for more notifications before it reads (a bound on the latency it adds). */
const COALESCE_MS = 5;

/** What the set waiter reads and listens with. */
export interface HandleSetBackend {
  listing: ListingRepository;
  listener: NotificationListener;
}

export interface WaitSetOptions {
  /** Reject with DbosTimeoutError when the set has not settled by then. Default: wait. */
  timeoutMs?: number;
  /** Ends the wait (rejects with its reason) when aborted. */
  signal?: AbortSignal;
}

/** How one workflow of the set ended: its result, or the error `getResult()` would throw. */
export type SetOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Says, after each read, whether the wait is over. */
type Settles = (finished: ReadonlyMap<string, SetOutcome>, newly: readonly string[]) => boolean;

/**
 * Waits for a set of workflows with one waiter over the whole set: each id's status key is
 * registered once with the notification listener, and each wake reads, in one statement, only the
 * rows of the ids notified since the last read (the payloads of the finished ones alone). A
 * finished id is never read again, so a set of n workflows costs O(n) rows read in total however
 * they finish. Without LISTEN (lost, or behind a pooler) every unfinished id is re-read each
 * `recheckIntervalMs`.
 */
export async function waitForSet(
  backend: HandleSetBackend,
  workflowIds: readonly string[],
  options: WaitSetOptions,
  settles: Settles,
): Promise<Map<string, SetOutcome>> {
  const { listing, listener } = backend;
  const finished = new Map<string, SetOutcome>();
  const unfinished = new Set(workflowIds);
  const { clock } = listener;
  const deadline = options.timeoutMs === undefined ? Infinity : clock.now() + options.timeoutMs;
  // Ids notified since the last read; all of them for the first read and each re-check.
  let notified = new Set<string>(unfinished);
  let wake: (() => void) | undefined;
  const stopWatching = listener.watch([...unfinished].map(statusKey), (key) => {
    notified.add(key.slice(NOTICE_PREFIX.status.length));
    wake?.();
  });
  const onAbort = () => wake?.();
  options.signal?.addEventListener('abort', onAbort);
  let first = true;
  let watching = false;
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const ids = [...notified].filter((id) => unfinished.has(id));
      notified = new Set();
      if (ids.length > 0) {
        const rows = await listing.getFinishing(ids);
        if (first) throwIfMissing(ids, rows);
        first = false;
        const newly: string[] = [];
        for (const row of rows) {
          if (!isTerminal(row.status) || !unfinished.has(row.workflowId)) continue;
          unfinished.delete(row.workflowId);
          finished.set(row.workflowId, settledOutcome(row));
          newly.push(row.workflowId);
        }
        if (settles(finished, newly)) return finished;
        // Those that run elsewhere are announced only when asked (ListingRepository.watchOutcomes):
        // asked once for the set, after the first read, and read again after it.
        if (!watching && !listener.isPollOnly) {
          watching = true;
          await listing.watchOutcomes([...unfinished]);
          for (const id of unfinished) notified.add(id);
        }
      }
      if (notified.size > 0) continue; // woken while reading
      if (clock.now() >= deadline) throw waitTimeout(unfinished, workflowIds.length);
      const recheck = await sleepUntilWoken(clock, listener.recheckDelayMs(), deadline, (w) => (wake = w));
      wake = undefined;
      if (recheck) notified = new Set(unfinished);
      // Workflows of a set tend to finish together: a moment lets one read take the notifications of several.
      else await new Promise((resolve) => setTimeout(resolve, COALESCE_MS));
    }
  } finally {
    stopWatching();
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Sleeps until woken (false), or until the re-check time (real time) or the deadline (the module's
 * clock) passes (true). The wait is on the clock, so a workflow waiting here counts as blocked.
 */
function sleepUntilWoken(clock: WorkflowClock, recheckMs: number, deadline: number, setWake: (wake: () => void) => void): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => done(true), recheckMs);
    const cancelDeadline = clock.wait(deadline, () => done(true));
    function done(recheck: boolean): void {
      clearTimeout(timer);
      cancelDeadline();
      resolve(recheck);
    }
    setWake(() => done(false));
  });
}

/** The workflow's outcome as `getResult()` gives it: the result, or the recorded error, marked. */
function settledOutcome(row: WorkflowStatusRow): SetOutcome {
  try {
    return { ok: true, value: outcomeOf(row) };
  } catch (error) {
    return { ok: false, error: markWorkflowFailure(error, { workflowId: row.workflowId, status: row.status as WorkflowFailureStatus }) };
  }
}

function throwIfMissing(ids: readonly string[], rows: readonly WorkflowStatusRow[]): void {
  if (rows.length === ids.length) return;
  const found = new Set(rows.map((row) => row.workflowId));
  const missing = ids.filter((id) => !found.has(id));
  const named = missing.slice(0, 5).map((id) => `"${id}"`);
  throw new DbosNotFoundError(`No workflow has the id ${named.join(', ')}${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ''}.`);
}

function waitTimeout(unfinished: ReadonlySet<string>, total: number): DbosTimeoutError {
  const [first] = unfinished;
  return new DbosTimeoutError(
    first,
    `not finished within the wait given to waitAll/waitFirst (${unfinished.size} of the ${total} workflows awaited still running).`,
  );
}

/** The ids of the handles, checked: at least one handle, each with a workflow id. */
export function idsOf(handles: readonly { workflowId: string }[], call: string): string[] {
  if (!Array.isArray(handles) || handles.length === 0) {
    throw new DbosInvalidArgumentError(`${call} needs a non-empty array of workflow handles.`);
  }
  return handles.map((handle, i) => {
    if (typeof handle?.workflowId !== 'string' || handle.workflowId === '') {
      throw new DbosInvalidArgumentError(`${call}: handles[${i}] is not a workflow handle (it has no workflowId).`);
    }
    return handle.workflowId;
  });
}
