import { STEP_COLUMNS } from './row.mapping';
import { ownedBy, type Sql } from './sql';
import type { SystemDatabase } from './system.database';
import { HeardEvent } from './notification.listener';

export type SendResult = 'sent' | 'duplicate' | 'not-found';

/** What recv's statement did: took and recorded a message, found none, or was not allowed to record (fenced, position taken). */
export type ConsumeResult = { message: string | null } | 'nothing' | 'not-recorded';

export interface StreamEntry {
  offset: number;
  value: string | null;
  closed: boolean;
}

/** Messages, events and streams: what workflows say to each other and to clients. */
export class CommunicationRepository {
  constructor(private readonly db: SystemDatabase) {}

  private on(tx?: Sql): Sql {
    return tx ?? this.db;
  }

  /**
   * Delivers a message unless its id was delivered before; only to a workflow that exists.
   * With an idempotency key, also only when the key is new for that destination: the key is
   * recorded in the same statement as the message, and stays after recv consumed the message.
   */
  async send(
    client: Sql | undefined,
    message: { messageId: string; destinationId: string; topic: string; message: string; idempotencyKey?: string },
  ): Promise<SendResult> {
    const db = this.on(client);
    const values = [message.messageId, message.destinationId, message.topic, await this.db.payloads.encode(message.message), Date.now()];
    const destinationExists = `EXISTS (SELECT 1 FROM {schema}.workflow_status WHERE workflow_id = $2)`;
    const inserted =
      message.idempotencyKey === undefined
        ? await db.query(
            `INSERT INTO {schema}.notifications (message_id, destination_id, topic, message, created_at)
             SELECT $1, $2, $3, $4, $5 WHERE ${destinationExists}
             ON CONFLICT (message_id) DO NOTHING
             RETURNING message_id`,
            values,
          )
        : await db.query(
            `WITH new_key AS (
               INSERT INTO {schema}.message_keys (destination_id, idempotency_key, created_at)
               SELECT $2, $6, $5 WHERE ${destinationExists}
               ON CONFLICT (destination_id, idempotency_key) DO NOTHING
               RETURNING 1
             )
             INSERT INTO {schema}.notifications (message_id, destination_id, topic, message, created_at)
             SELECT $1, $2, $3, $4, $5 FROM new_key
             RETURNING message_id`,
            [...values, message.idempotencyKey],
          );
    if (inserted.length > 0) return 'sent';
    const exists = await db.unnamed(`SELECT 1 FROM {schema}.workflow_status WHERE workflow_id = $1`, [message.destinationId]);
    return exists.length > 0 ? 'duplicate' : 'not-found';
  }

  async hasMessage(destinationId: string, topic: string): Promise<boolean> {
    const rows = await this.db.query(`SELECT 1 FROM {schema}.notifications WHERE destination_id = $1 AND topic = $2 LIMIT 1`, [destinationId, topic]);
    return rows.length > 0;
  }

  /**
   * recv in one statement: removes the oldest message of the topic and records it as the
   * checkpoint at `at.stepId` (the message's stored text is the checkpoint's stored output: both
   * are the serialized value, through the same payload codec), only while run `epoch` owns the
   * workflow and the position is free, so a message is never lost or taken twice. 'nothing' when
   * there is no message yet; 'not-recorded' when the run was fenced or the position is taken.
   */
  async consumeInto(at: { workflowId: string; stepId: number; stepName: string; startedAt: number }, topic: string, epoch: number): Promise<ConsumeResult> {
    const rows = await this.db.query<{ owned: boolean; position_taken: boolean; output: string | null; recorded: boolean }>(
      `WITH owned AS (
         SELECT ${ownedBy('$1::text', '$5::int')} AS ok,
                EXISTS (SELECT 1 FROM {schema}.operation_outputs WHERE workflow_id = $1 AND step_id = $3) AS position_taken
       ), taken AS (
         DELETE FROM {schema}.notifications
          WHERE message_id = (SELECT message_id FROM {schema}.notifications
                               WHERE destination_id = $1 AND topic = $2
                               ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
            AND (SELECT ok AND NOT position_taken FROM owned)
         RETURNING message
       ), recorded AS (
         INSERT INTO {schema}.operation_outputs (${STEP_COLUMNS})
         SELECT $1, $3, $4, taken.message, NULL, NULL, $6::bigint, $7::bigint FROM taken
         RETURNING output
       )
       SELECT ok AS owned, position_taken, (SELECT output FROM recorded) AS output, EXISTS (SELECT 1 FROM recorded) AS recorded FROM owned`,
      [at.workflowId, topic, at.stepId, at.stepName, epoch, at.startedAt, Date.now()],
    );
    const row = rows[0];
    if (row.recorded) return { message: await this.db.payloads.decode(row.output) };
    return row.owned && !row.position_taken ? 'nothing' : 'not-recorded';
  }

  /**
   * setEvent's writes as CTEs over the CTE `recorded` of its checkpoint (see
   * CheckpointRepository.recordWithEffects), their parameters from $10: the event and its history
   * row are written in the checkpoint's statement, only if the checkpoint is.
   */
  async setEventEffects(key: string, given: string): Promise<{ effects: string; values: unknown[] }> {
    return {
      effects: `event AS (
          INSERT INTO {schema}.workflow_events (workflow_id, key, value) SELECT workflow_id, $10::text, $11::text FROM recorded
          ON CONFLICT (workflow_id, key) DO UPDATE SET value = EXCLUDED.value
        ), history AS (
          INSERT INTO {schema}.workflow_events_history (workflow_id, step_id, key, value) SELECT workflow_id, $2::int, $10::text, $11::text FROM recorded
          ON CONFLICT (workflow_id, step_id) DO UPDATE SET key = EXCLUDED.key, value = EXCLUDED.value
        )`,
      values: [key, await this.db.payloads.encode(given)],
    };
  }

  /**
   * What a setEvent of this process that wrote `value` (the value codec's text) hands the waiters
   * of its workflow's events (NotificationListener.deliver): the value as a read of the row gives
   * it back. None with a custom serializer, whose round trip may change it: the waiters read.
   */
  heardOf(workflowId: string, key: string, value: string): HeardEvent | undefined {
    return this.db.payloads.readsBackAsWritten ? new HeardEvent(workflowId, key, value) : undefined;
  }

  /**
   * The latest value of an event, or undefined when it was never set. `heard`: what woke the
   * waiter (NotificationListener.waitUntil). A setEvent of this process hands its waiters the
   * value it just committed (`NotificationListener.deliver`), which is then not read back. Any
   * other wake-up reads: a notice from the database only names the workflow (anyone who can
   * connect can send one, so its content is never taken as a value).
   */
  async getEvent(workflowId: string, key: string, heard?: HeardEvent): Promise<{ value: string | null } | undefined> {
    if (heard?.workflowId === workflowId && heard.key === key) return { value: heard.value };
    const rows = await this.db.query<{ value: string | null }>(`SELECT value FROM {schema}.workflow_events WHERE workflow_id = $1 AND key = $2`, [
      workflowId,
      key,
    ]);
    return rows.length > 0 ? { value: await this.db.payloads.decode(rows[0].value) } : undefined;
  }

  /** Appends to a stream (or closes it); offsets count from 0 per workflow and key. */
  async appendStream(client: Sql | undefined, workflowId: string, key: string, value: string | null, closed: boolean, stepId: number | null): Promise<void> {
    // Parallel steps of one workflow may append at once: on an offset clash, take the next one.
    // (Inside a transaction a clash aborts it; the caller's transaction is tried again.)
    const stored = await this.db.payloads.encode(value);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.appendOnce(client, workflowId, key, stored, closed, stepId);
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== '23505' || client !== undefined || attempt >= 10) throw err;
      }
    }
  }

  private async appendOnce(
    client: Sql | undefined,
    workflowId: string,
    key: string,
    value: string | null,
    closed: boolean,
    stepId: number | null,
  ): Promise<void> {
    await this.on(client).unnamed(
      `INSERT INTO {schema}.streams (workflow_id, key, "offset", value, closed, step_id)
       SELECT $1, $2, COALESCE(max("offset") + 1, 0), $3, $4, $5
         FROM {schema}.streams WHERE workflow_id = $1 AND key = $2
       -- A step still running after its workflow was deleted writes nothing.
       HAVING EXISTS (SELECT 1 FROM {schema}.workflow_status w WHERE w.workflow_id = $1)`,
      [workflowId, key, value, closed, stepId],
    );
  }

  async readStream(workflowId: string, key: string, fromOffset: number): Promise<StreamEntry[]> {
    const rows = await this.db.query<{ offset: number; value: string | null; closed: boolean }>(
      `SELECT "offset", value, closed FROM {schema}.streams
        WHERE workflow_id = $1 AND key = $2 AND "offset" >= $3 ORDER BY "offset" LIMIT 1000`,
      [workflowId, key, fromOffset],
    );
    const values = await this.db.payloads.decodeAll(rows.map((r) => r.value));
    return rows.map((r, i) => ({ offset: Number(r.offset), value: values[i], closed: r.closed }));
  }

  /** Copies what the steps before `beforeStep` of `fromId` published to `toId` (fork). */
  async copyPublished(client: Sql, fromId: string, toId: string, beforeStep: number): Promise<void> {
    await client.unnamed(
      `INSERT INTO {schema}.workflow_events_history (workflow_id, step_id, key, value)
       SELECT $2, step_id, key, value FROM {schema}.workflow_events_history WHERE workflow_id = $1 AND step_id < $3`,
      [fromId, toId, beforeStep],
    );
    await client.unnamed(
      `INSERT INTO {schema}.workflow_events (workflow_id, key, value)
       SELECT DISTINCT ON (key) $1, key, value FROM {schema}.workflow_events_history
        WHERE workflow_id = $1 ORDER BY key, step_id DESC`,
      [toId],
    );
    await client.unnamed(
      `INSERT INTO {schema}.streams (workflow_id, key, "offset", value, closed, step_id)
       SELECT $2, key, "offset", value, closed, step_id FROM {schema}.streams
        WHERE workflow_id = $1 AND step_id < $3`,
      [fromId, toId, beforeStep],
    );
  }
}
