import { waitForSet, idsOf, type HandleSetBackend, type SetOutcome, type WaitSetOptions } from './handle-set.waiter';

export type { HandleSetBackend, WaitSetOptions } from './handle-set.waiter';

/** The results of a tuple or array of handles, each typed as its handle's `getResult()`. */
export type ResultsOf<T extends readonly unknown[]> = { -readonly [K in keyof T]: T[K] extends { getResult(): Promise<infer R> } ? R : unknown };

/** Options of `waitAll` / `waitFirst`. */
export interface WaitForHandlesOptions {
  /** Reject with DbosTimeoutError when the wait has not ended by then. Default: wait. */
  timeoutMs?: number;
}

/**
 * The results of the workflows of `handles`, in the order of `handles`. Rejects as soon as one
 * of them is known to have failed, with the error its `getResult()` would throw (when several
 * are found failed in the same read, the first of them in `handles`).
 */
export async function waitAll(backend: HandleSetBackend, handles: readonly { workflowId: string }[], options: WaitSetOptions = {}): Promise<unknown[]> {
  const ids = idsOf(handles, 'waitAll(handles)');
  const count = new Set(ids).size;
  let failure: SetOutcome | undefined;
  const finished = await waitForSet(backend, ids, options, (done, newly) => {
    if (newly.some((id) => !done.get(id)!.ok)) {
      failure = ids.map((id) => done.get(id)).find((outcome) => outcome !== undefined && !outcome.ok);
      return true;
    }
    return done.size === count;
  });
  if (failure && !failure.ok) throw failure.error;
  return ids.map((id) => {
    const outcome = finished.get(id)!;
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  });
}

/**
 * The index in `handles` of the first workflow to finish (in success or failure); when several
 * are found finished in the same read, the first of them in `handles`.
 */
export async function waitFirstIndex(backend: HandleSetBackend, handles: readonly { workflowId: string }[], options: WaitSetOptions = {}): Promise<number> {
  const ids = idsOf(handles, 'waitFirst(handles)');
  const finished = await waitForSet(backend, ids, options, (done) => done.size > 0);
  return ids.findIndex((id) => finished.has(id));
}
