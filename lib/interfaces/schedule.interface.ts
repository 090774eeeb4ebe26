/**
 * What a tick does while an earlier tick's workflow of the same schedule is still ENQUEUED or
 * PENDING (modelled on Temporal's schedule overlap policies):
 * - `'allow'`: it starts anyway (ALLOW_ALL; the default).
 * - `'skip'`: it does not start; the skipped tick is counted and logged (SKIP).
 * - `'buffer-one'`: it waits and starts once no earlier tick's workflow is running; while one tick
 *   waits, further ticks are skipped (BUFFER_ONE).
 * - `'cancel-other'`: the running workflows are cancelled and it starts (CANCEL_OTHER).
 */
export type OverlapPolicy = 'allow' | 'skip' | 'buffer-one' | 'cancel-other';

/** `ScheduleClient.create`: a schedule stored in the database, run by every process that registers its workflow. */
export interface CreateScheduleOptions {
  /** Unique name of the schedule (no `:` and no whitespace, at most 100 characters). */
  name: string;
  /** Cron expression: five fields (from the minute) or six (from the second). */
  cron: string;
  /** IANA time zone of the expression (e.g. `Europe/Paris`); default UTC. */
  timezone?: string;
  /** Registered name of the workflow each tick starts (`ClassName.methodName` or `@Workflow({ name })`). */
  workflowName: string;
  /** Arguments after the tick's scheduled time: the workflow is called with `(scheduledTime, ...args)`. */
  args?: unknown[];
  /** Queue each tick is enqueued on (declared by the processes that run it); default the internal queue. */
  queue?: string;
  /** Default `'allow'`. */
  overlap?: OverlapPolicy;
  /** Create it paused (default false); with `upsert`, omitted leaves an existing schedule's pause as it is. */
  paused?: boolean;
  /** An existing schedule of that name is replaced (its tick state and, unless `paused` is given, its pause kept) instead of a DbosConflictError. */
  upsert?: boolean;
}

/** `ScheduleClient.update`: the fields to change. */
export type ScheduleChanges = Partial<Pick<CreateScheduleOptions, 'cron' | 'timezone' | 'workflowName' | 'args' | 'queue' | 'overlap'>>;

/** A runtime schedule as stored. */
export interface ScheduleInfo {
  name: string;
  cron: string;
  timezone: string;
  workflowName: string;
  args: unknown[];
  queue: string | null;
  overlap: OverlapPolicy;
  paused: boolean;
  /** Latest tick decided (started, buffered or skipped), or null before the first. */
  lastTick: Date | null;
  /** The tick a `'buffer-one'` schedule holds back until the running workflow ends. */
  bufferedTick: Date | null;
  /** Ticks not started because of the overlap policy. */
  skippedTicks: number;
  /** Next tick after now (null when paused or when the expression has no further tick). */
  nextTick: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What `ScheduleClient.backfill` did. */
export interface BackfillResult {
  /** Workflow ids started, oldest tick first. */
  started: string[];
  /** Ticks of the range that had a workflow already (run by the schedule or an earlier backfill). */
  existing: number;
}
