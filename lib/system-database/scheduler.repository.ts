import type { SystemDatabase } from './system.database';

/** The last tick started per schedule. */
export class SchedulerRepository {
  constructor(private readonly db: SystemDatabase) {}

  async lastTick(workflowName: string): Promise<number | null> {
    const rows = await this.db.query<{ last_tick: string | null }>(`SELECT last_tick FROM {schema}.scheduler_state WHERE workflow_name = $1`, [workflowName]);
    // No row, or one an overlap decision made before the first tick: nothing to catch up from.
    return rows.length > 0 && rows[0].last_tick !== null ? Number(rows[0].last_tick) : null;
  }

  async recordTick(workflowName: string, tick: number): Promise<void> {
    await this.db.query(
      `INSERT INTO {schema}.scheduler_state (workflow_name, last_tick) VALUES ($1, $2)
       ON CONFLICT (workflow_name) DO UPDATE SET last_tick = GREATEST({schema}.scheduler_state.last_tick, EXCLUDED.last_tick)`,
      [workflowName, tick],
    );
  }
}
