import type { OverlapPolicy } from '../interfaces/schedule.interface';
import type { LockedTickState, ScheduledRun, TickPlan } from '../system-database/schedule.repository';

/**
 * What a tick does, decided under the schedule's lock against its running workflows (`running`:
 * ENQUEUED or PENDING, oldest first). Null when the tick was decided already (by another process).
 * A tick held back by 'buffer-one' whose blocker has ended goes first, and the new tick waits in
 * its place.
 */
export function planTick(
  policy: OverlapPolicy,
  state: LockedTickState,
  running: string[],
  tick: number,
  runOf: (tick: number) => ScheduledRun,
): TickPlan | null {
  if (state.lastTick !== null && state.lastTick >= tick) return null;
  const decided = { lastTick: tick };
  if (policy === 'buffer-one' && state.bufferedTick !== null) {
    if (running.length > 0) return { ...decided, skipped: true };
    return { ...decided, start: [runOf(state.bufferedTick)], bufferedTick: tick };
  }
  if (running.length === 0 || policy === 'allow') return { ...decided, start: [runOf(tick)] };
  switch (policy) {
    case 'skip':
      return { ...decided, skipped: true };
    case 'buffer-one':
      return { ...decided, bufferedTick: tick };
    case 'cancel-other':
      return { ...decided, cancel: running, start: [runOf(tick)] };
  }
}

/** Starts the held-back tick once nothing of the schedule runs; null otherwise. */
export function planBufferedStart(state: LockedTickState, running: string[], runOf: (tick: number) => ScheduledRun): TickPlan | null {
  if (state.bufferedTick === null || running.length > 0) return null;
  return { start: [runOf(state.bufferedTick)], bufferedTick: null };
}
