import { Client, type ClientConfig } from 'pg';

/** What pg's client rejects a query with when no reply came within `query_timeout`. */
const OVERDUE = 'Query read timeout';

/**
 * The pg client of the module's pools (the system pool, and the `@Transaction` pool it opens from
 * `database.url`).
 *
 * - A pooled client checked out between two queries has no 'error' listener of the pool's, so a
 *   connection terminated in that moment (a server restart, pg_terminate_backend, a reset socket)
 *   would be an unhandled 'error' event and crash the process. The listener here keeps it an
 *   ordinary failure: the next query on that client rejects, and the code that made it deals with
 *   it (retry, outage, discard).
 * - A query whose reply is overdue (`query_timeout`, set past the server's own statement timeout)
 *   went into a dead connection: one a partition left open and silent. pg rejects that query but
 *   keeps the connection, still waiting for the reply, so every later query on it is overdue too.
 *   Handed back to a pool as healthy (TypeORM releases a query runner's client without its error),
 *   it would be taken again and again (pools hand out their last released client first): a
 *   workflow on a live executor stuck for as long as the dead socket lasts. So the client closes
 *   its connection then; the pool drops it, and the next checkout opens a new one.
 */
export class GuardedClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }

  // pg's overloads (text or config, values, callback; or a submittable) are passed through as they are.
  override query(...args: unknown[]): never {
    const callback = args[args.length - 1];
    if (typeof callback === 'function') {
      args[args.length - 1] = (err: unknown, result: unknown) => {
        this.closeIfOverdue(err);
        (callback as (err: unknown, result: unknown) => void)(err, result);
      };
    }
    const sent = (super.query as (...a: unknown[]) => unknown)(...args);
    if (sent instanceof Promise) {
      return sent.catch((err: unknown) => {
        this.closeIfOverdue(err);
        throw err;
      }) as never;
    }
    return sent as never;
  }

  private closeIfOverdue(err: unknown): void {
    if ((err as Error | undefined)?.message === OVERDUE && !this.connection.stream.destroyed) this.connection.stream.destroy();
  }
}
