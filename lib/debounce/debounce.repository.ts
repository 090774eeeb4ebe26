import type { NewWorkflowRow, RunLifecycleRepository } from '../system-database/run-lifecycle.repository';
import { DbosConflictError } from '../errors/conflict.error';
import { notificationChannel } from '../system-database/schema-name.util';
import type { Sql } from '../system-database/sql';
import { NOTICE_PREFIX } from '../system-database/system.names';
import type { SystemDatabase } from '../system-database/system.database';

/** One call of a debounce key. */
export interface DebounceCall {
  /** The key, scoped by this workflow name. */
  workflowName: string;
  key: string;
  /** The ENQUEUED row of a new burst (with its first delay); its inputs also go to a waiting burst. */
  row: NewWorkflowRow;
  periodMs: number;
  maxWaitMs: number | null;
  /** The call's time (epoch ms, workflow clock). */
  now: number;
}

/**
 * Locks the key's row: the calls of one key take turns from here to the commit. Each statement
 * after it reads a snapshot taken once the lock is held, so it sees the burst the previous call of
 * the key committed. A row lock writes no new row version, unlike an upsert: a key called
 * thousands of times in a burst leaves no dead rows here.
 */
const LOCK_KEY = `SELECT workflow_id FROM {schema}.debounce WHERE workflow_name = $1 AND debounce_key = $2 FOR UPDATE`;

/** The first call of a key makes its row (locked until it commits); none when a concurrent first call made it. */
const CREATE_KEY = `INSERT INTO {schema}.debounce (workflow_name, debounce_key) VALUES ($1, $2)
  ON CONFLICT (workflow_name, debounce_key) DO NOTHING
  RETURNING workflow_id`;

/**
 * Joins the waiting burst: its run takes this call's arguments and starts `periodMs` from now, but
 * no later than `maxWaitMs` after the first call (its created_at; LEAST ignores a NULL bound).
 * Only while it is ENQUEUED and was never claimed: a claim that locked the row first commits
 * PENDING, this UPDATE then re-reads the row, matches nothing, and the call opens a new burst; one
 * that comes after finds the row locked (SKIP LOCKED) or, once this commits, not yet due. Either
 * way the run reads the arguments of the last call that joined it.
 *
 * It announces the queue (`queue:<name>`, sent at commit) as an enqueue does: a dispatcher whose
 * claim skipped the row while this call held it has found nothing else due and sleeps until its
 * next poll; woken, it claims the row once due (maxWaitMs reached) or waits for the new delay.
 */
const joinBurst = (channel: string) => `WITH joined AS (
    UPDATE {schema}.workflow_status
       SET inputs = $2, updated_at = $3::bigint,
           delay_until = LEAST($3::bigint + $4::bigint, created_at + $5::bigint)
     WHERE workflow_id = $1 AND status = 'ENQUEUED' AND started_at IS NULL
    RETURNING workflow_id, queue_name
  )
  SELECT workflow_id, pg_notify('${channel}', '${NOTICE_PREFIX.queue}' || queue_name) FROM joined`;

const POINT_TO_BURST = `UPDATE {schema}.debounce SET workflow_id = $3 WHERE workflow_name = $1 AND debounce_key = $2`;

/** The debounce table and the ENQUEUED rows of the bursts, written in one short transaction per call. */
export class DebounceRepository {
  private readonly joinBurst: string;

  constructor(
    private readonly db: SystemDatabase,
    /** Writes a new burst's ENQUEUED row in the call's transaction, as any start in a caller's transaction. */
    private readonly lifecycle: RunLifecycleRepository,
  ) {
    this.joinBurst = joinBurst(notificationChannel(db.schema));
  }

  /** The id of the run this call collapsed into: the waiting burst's, or a new one's. */
  async call(call: DebounceCall): Promise<{ workflowId: string; joined: boolean }> {
    // Stored as every workflow's inputs are (encrypted, or through the app's serializer, when configured).
    const inputs = await this.db.payloads.encode(call.row.inputs);
    return this.db.transaction(async (tx) => {
      const lock = await this.lockKey(tx, [call.workflowName, call.key]);
      if (lock.workflow_id !== null) {
        const joined = await tx.query(this.joinBurst, [lock.workflow_id, inputs, call.now, call.periodMs, call.maxWaitMs]);
        if (joined.length > 0) return { workflowId: lock.workflow_id, joined: true };
      }
      const r = call.row;
      await this.lifecycle.insertIn(tx, r);
      await tx.query(POINT_TO_BURST, [call.workflowName, call.key, r.workflowId]);
      return { workflowId: r.workflowId, joined: false };
    });
  }

  /** The key's row, locked: found, made here, or made by a concurrent first call (its insert waited for that one's commit). */
  private async lockKey(tx: Sql, key: string[]): Promise<{ workflow_id: string | null }> {
    for (const statement of [LOCK_KEY, CREATE_KEY, LOCK_KEY]) {
      const [row] = await tx.query<{ workflow_id: string | null }>(statement, key);
      if (row) return row;
    }
    // Only a delete of the key between the insert and the lock (its workflow deleted at that instant) gets here.
    throw new DbosConflictError(`Debounce key "${key[1]}" of workflow ${key[0]} changed while this call took it; call debounce() again.`);
  }
}
