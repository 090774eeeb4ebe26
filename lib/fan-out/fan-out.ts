import { waitForSet, idsOf, type HandleSetBackend, type WaitSetOptions } from './handle-set.waiter';

export type { HandleSetBackend, WaitSetOptions } from './handle-set.waiter';

/** The results of a tuple or array of handles, each typed as its handle's `getResult()`. */
export type ResultsOf<T extends readonly unknown[]> = { -readonly [K in keyof T]: T[K] extends { getResult(): Promise<infer R> } ? R : unknown };

/** Options of `waitAll` / `waitFirst`: `timeoutMs`, after which the wait rejects with DbosTimeoutError (default: wait). */
export type WaitForHandlesOptions = Pick<WaitSetOptions, 'timeoutMs'>;

/**
 * The results of the workflows of `handles`, in the order of `handles`. Rejects as soon as one
 * of them is known to have failed, with the error its `getResult()` would throw (when several
 * are found failed in the same read, the first of them in `handles`).
 */
export async function waitAll(backend: HandleSetBackend, handles: readonly { workflowId: string }[], options: WaitSetOptions = {}): Promise<unknown[]> {
  const ids = idsOf(handles, 'waitAll(handles)');
  const count = new Set(ids).size;
  const finished = await waitForSet(backend, ids, options, (done, newly) => newly.some((id) => !done.get(id)!.ok) || done.size === count);
  // The first failure in the order of `handles` (also when several were found in the same read).
  const failure = ids.map((id) => finished.get(id)).find((outcome) => outcome !== undefined && !outcome.ok);
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
