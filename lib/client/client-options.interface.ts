import type { EntityManager } from 'typeorm';
import type { PayloadOptions } from '../interfaces/payload-options.interface';
import type { PayloadCodec } from '../payloads/payload.codec';
import type { PoolerOptions, ReadReplicaOptions } from '../interfaces/dbos-module-options.interface';

/** The options of WorkflowClient's calls and of `WorkflowClient.connect()`. */

export interface WorkflowClientConnectOptions extends PayloadOptions {
  /**
   * `applicationName`: `application_name` of the client's connections (suffixed `:system`, `:listen`); default `nestjs-dbos:client`.
   * `startupRetryMs`: keep retrying an unreachable database this long (default 30 000 ms, as the module; 0 fails at once).
   * `pooler`, `listenUrl`, `pollIntervalMs`: as the module's (docs/poolers.md).
   * `readUrl`, `readPoolSize`, `readFallback`: a hot standby for list, listPage, listSteps and queueStats, as the module's (docs/replicas.md).
   */
  database: { url: string; poolSize?: number; applicationName?: string; startupRetryMs?: number } & PoolerOptions & ReadReplicaOptions;
  schema?: string;
  // `serializer`, `encryption`: the app's (docs/payloads.md), so the client reads and writes the same payloads.
  /** @internal A codec of its own instead of one made of `serializer` and `encryption` (the CLI's, which shows `[encrypted]`). */
  payloadCodec?: PayloadCodec;
}

/** One value of a workflow stream as a server-sent event (the shape Nest's `@Sse()` sends). */
export interface StreamEvent<T> {
  data: T;
  /** The value's offset in the stream. */
  id: string;
}

export interface SendOptions {
  /** Sending twice with one key to one workflow delivers once, also after the workflow received the first. */
  idempotencyKey?: string;
  /** Write the message in this TypeORM transaction (on the system database): delivered only if, and when, it commits. */
  entityManager?: EntityManager;
}

export interface ResumeOptions {
  /** Move the workflow to this application version (see resume). */
  applicationVersion?: string;
}

export interface ForkOptions {
  /** First step to run again; the checkpoints before it are reused. */
  fromStep: number;
  /** Version the fork runs on (default: the original's). */
  applicationVersion?: string;
  workflowId?: string;
}
