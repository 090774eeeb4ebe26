import type { AdminRepository } from './admin.repository';
import type { Sql } from './sql';
import type { SystemDatabase } from './system.database';

/** A runtime schedule's row. */
export interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string;
  workflowName: string;
  /** The serialized arguments after the scheduled time. */
  inputs: string;
  queueName: string | null;
  overlap: string;
  paused: boolean;
  lastTick: number | null;
  bufferedTick: number | null;
  skippedTicks: number;
  createdAt: number;
  updatedAt: number;
}

/** A definition to write; `paused` null: as it is (a replace), or not paused (an insert). */
export type NewScheduleRow = Pick<ScheduleRow, 'name' | 'cron' | 'timezone' | 'workflowName' | 'inputs' | 'queueName' | 'overlap'> & { paused: boolean | null };

/** Whose tick state: a runtime schedule (a `schedules` row) or a `@Scheduled` workflow (its `scheduler_state` row). */
export type TickTarget = { kind: 'runtime'; name: string } | { kind: 'decorator'; workflowName: string };

/** The tick state read under the lock; `schedule` for a runtime schedule. */
export interface LockedTickState {
  workflowName: string;
  lastTick: number | null;
  bufferedTick: number | null;
  schedule?: ScheduleRow;
}

/** A tick's workflow, enqueued by name. */
export interface ScheduledRun {
  workflowId: string;
  workflowName: string;
  inputs: string;
  queueName: string;
}

/** What one decision writes, all in one transaction. */
export interface TickPlan {
  /** Running workflows of the schedule to cancel first. */
  cancel?: string[];
  /** Workflows to enqueue (one tick's; a backfill's several); an id that exists is left as it is. */
  start?: ScheduledRun[];
  /** Raises the last tick decided to this. */
  lastTick?: number;
  /** Sets (a number) or clears (null) the held-back tick; undefined leaves it. */
  bufferedTick?: number | null;
  skipped?: boolean;
}

export interface TickOutcome {
  plan: TickPlan;
  /** The workflow ids cancelled by the plan. */
  cancelled: string[];
  /** The ids of `plan.start` enqueued now (not those that existed already: run by an earlier tick, trigger or backfill). */
  started: string[];
}

const SCHEDULE_COLUMNS = `name, cron, timezone, workflow_name, inputs, queue_name, overlap, paused, last_tick, buffered_tick, skipped_ticks, created_at, updated_at`;

const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function toScheduleRow(raw: Record<string, unknown>): ScheduleRow {
  return {
    name: raw.name as string,
    cron: raw.cron as string,
    timezone: raw.timezone as string,
    workflowName: raw.workflow_name as string,
    inputs: raw.inputs as string,
    queueName: (raw.queue_name as string | null) ?? null,
    overlap: raw.overlap as string,
    paused: raw.paused as boolean,
    lastTick: nullableNumber(raw.last_tick),
    bufferedTick: nullableNumber(raw.buffered_tick),
    skippedTicks: Number(raw.skipped_ticks),
    createdAt: Number(raw.created_at),
    updatedAt: Number(raw.updated_at),
  };
}

/**
 * Runtime schedules, and the tick decisions of every schedule: a decision locks the schedule's
 * row, so processes firing the same tick take turns and the first one decides for all.
 */
export class ScheduleRepository {
  constructor(
    private readonly db: SystemDatabase,
    private readonly admin: AdminRepository,
  ) {}

  /** False when a schedule of that name exists (nothing written). */
  async insert(row: NewScheduleRow, now = Date.now()): Promise<boolean> {
    const inserted = await this.db.unnamed(
      `INSERT INTO {schema}.schedules (name, cron, timezone, workflow_name, inputs, queue_name, overlap, paused, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8::boolean, false), $9, $9) ON CONFLICT (name) DO NOTHING RETURNING name`,
      [row.name, row.cron, row.timezone, row.workflowName, await this.db.payloads.encode(row.inputs), row.queueName, row.overlap, row.paused, now],
    );
    return inserted.length > 0;
  }

  /** Replaces the definition of an existing schedule, keeping its tick state (and its pause, unless `paused` is given); false when there is none. */
  async replace(row: NewScheduleRow, now = Date.now()): Promise<boolean> {
    const updated = await this.db.unnamed(
      `UPDATE {schema}.schedules SET cron = $2, timezone = $3, workflow_name = $4, inputs = $5, queue_name = $6, overlap = $7,
              paused = COALESCE($8::boolean, paused), updated_at = $9
        WHERE name = $1 RETURNING name`,
      [row.name, row.cron, row.timezone, row.workflowName, await this.db.payloads.encode(row.inputs), row.queueName, row.overlap, row.paused, now],
    );
    return updated.length > 0;
  }

  /** False when there is no schedule of that name. */
  async setPaused(name: string, paused: boolean, now = Date.now()): Promise<boolean> {
    const rows = await this.db.unnamed(`UPDATE {schema}.schedules SET paused = $2, updated_at = $3 WHERE name = $1 RETURNING name`, [name, paused, now]);
    return rows.length > 0;
  }

  async delete(name: string): Promise<boolean> {
    const rows = await this.db.unnamed(`DELETE FROM {schema}.schedules WHERE name = $1 RETURNING name`, [name]);
    return rows.length > 0;
  }

  async get(name: string): Promise<ScheduleRow | null> {
    const rows = await this.db.query(`SELECT ${SCHEDULE_COLUMNS} FROM {schema}.schedules WHERE name = $1`, [name]);
    return rows.length > 0 ? this.read(toScheduleRow(rows[0])) : null;
  }

  async list(): Promise<ScheduleRow[]> {
    const rows = await this.db.query(`SELECT ${SCHEDULE_COLUMNS} FROM {schema}.schedules ORDER BY name`);
    return Promise.all(rows.map((raw) => this.read(toScheduleRow(raw))));
  }

  /** The `@Scheduled` workflows among `workflowNames` that hold back a tick (buffer-one). */
  async decoratorsWithBufferedTick(workflowNames: string[]): Promise<string[]> {
    const rows = await this.db.query<{ workflow_name: string }>(
      `SELECT workflow_name FROM {schema}.scheduler_state WHERE workflow_name = ANY($1::text[]) AND buffered_tick IS NOT NULL`,
      [workflowNames],
    );
    return rows.map((r) => r.workflow_name);
  }

  /**
   * One decision: locks the target's tick state, reads the schedule's running workflows (ENQUEUED
   * or PENDING, id starting with `runPrefix`), asks `decide` for the plan and writes it (cancels,
   * the enqueued start, the new state) in the same transaction. Null when the runtime schedule does
   * not exist or `decide` returns null (nothing to do).
   */
  async decide(target: TickTarget, runPrefix: string, decide: (state: LockedTickState, running: string[]) => TickPlan | null): Promise<TickOutcome | null> {
    return this.db.transaction(async (tx) => {
      const state = await this.lock(tx, target);
      if (!state) return null;
      const running = await tx.query<{ workflow_id: string }>(
        `SELECT workflow_id FROM {schema}.workflow_status
          WHERE status IN ('PENDING', 'ENQUEUED') AND workflow_name = $1 AND left(workflow_id, length($2)) = $2 ORDER BY created_at`,
        [state.workflowName, runPrefix],
      );
      const plan = decide(
        state,
        running.map((r) => r.workflow_id),
      );
      if (!plan) return null;
      const cancelled = plan.cancel?.length ? await this.admin.cancelTrees(tx, plan.cancel, null) : [];
      const started = plan.start?.length ? await this.enqueue(tx, plan.start) : [];
      await this.writeState(tx, target, plan);
      return { plan, cancelled: cancelled.map((c) => c.workflowId), started };
    });
  }

  /** A stored schedule with its arguments as the value codec wrote them (decrypted, when encryption is on). */
  private async read(row: ScheduleRow): Promise<ScheduleRow> {
    return { ...row, inputs: (await this.db.payloads.decode(row.inputs)) ?? row.inputs };
  }

  private async lock(tx: Sql, target: TickTarget): Promise<LockedTickState | null> {
    if (target.kind === 'runtime') {
      const rows = await tx.query(`SELECT ${SCHEDULE_COLUMNS} FROM {schema}.schedules WHERE name = $1 FOR UPDATE`, [target.name]);
      if (rows.length === 0) return null;
      const schedule = await this.read(toScheduleRow(rows[0]));
      return { workflowName: schedule.workflowName, lastTick: schedule.lastTick, bufferedTick: schedule.bufferedTick, schedule };
    }
    await tx.query(`INSERT INTO {schema}.scheduler_state (workflow_name, last_tick) VALUES ($1, NULL) ON CONFLICT (workflow_name) DO NOTHING`, [
      target.workflowName,
    ]);
    const rows = await tx.query<{ last_tick: string | null; buffered_tick: string | null }>(
      `SELECT last_tick, buffered_tick FROM {schema}.scheduler_state WHERE workflow_name = $1 FOR UPDATE`,
      [target.workflowName],
    );
    return { workflowName: target.workflowName, lastTick: nullableNumber(rows[0].last_tick), bufferedTick: nullableNumber(rows[0].buffered_tick) };
  }

  /**
   * The tick's row, ENQUEUED by name like `enqueue_workflow`: its insert trigger wakes the queue's
   * dispatchers. Its outcome is watched (announced on the channel wherever it runs): the schedule
   * runners start a tick held back (buffer-one) when they hear it.
   */
  private async enqueue(tx: Sql, runs: ScheduledRun[]): Promise<string[]> {
    const rows = await tx.query<{ workflow_id: string }>(
      `INSERT INTO {schema}.workflow_status (workflow_id, status, workflow_name, inputs, queue_name, created_at, updated_at, outcome_watched)
       SELECT r.id, 'ENQUEUED', r.name, r.inputs, r.queue, $5::bigint + r.n - 1, $5::bigint + r.n - 1, true
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS r(id, name, inputs, queue, n)
        ORDER BY r.n
       ON CONFLICT DO NOTHING RETURNING workflow_id`,
      [
        runs.map((r) => r.workflowId),
        runs.map((r) => r.workflowName),
        await this.db.payloads.encodeAll(runs.map((r) => r.inputs)),
        runs.map((r) => r.queueName),
        Date.now(),
      ],
    );
    const inserted = new Set(rows.map((r) => r.workflow_id));
    return runs.map((r) => r.workflowId).filter((id) => inserted.has(id));
  }

  private async writeState(tx: Sql, target: TickTarget, plan: TickPlan): Promise<void> {
    const table = target.kind === 'runtime' ? 'schedules' : 'scheduler_state';
    const key = target.kind === 'runtime' ? 'name' : 'workflow_name';
    await tx.unnamed(
      `UPDATE {schema}.${table}
          SET last_tick = GREATEST(last_tick, $2::bigint),
              buffered_tick = CASE WHEN $3::boolean THEN $4::bigint ELSE buffered_tick END,
              skipped_ticks = skipped_ticks + $5::int
        WHERE ${key} = $1`,
      [
        target.kind === 'runtime' ? target.name : target.workflowName,
        plan.lastTick ?? null,
        plan.bufferedTick !== undefined,
        plan.bufferedTick ?? null,
        plan.skipped ? 1 : 0,
      ],
    );
  }
}
