/**
 * Waits for `work` to settle, but no longer than until `deadline` (epoch ms). True when it
 * settled in time; its outcome is otherwise ignored (a late rejection included), so a shutdown
 * step stuck on a dead socket cannot hold up the rest of the shutdown.
 */
export async function settleWithin(deadline: number, work: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
    timer.unref();
  });
  const settled = work.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
