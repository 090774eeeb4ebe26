import { Client, type ClientConfig } from 'pg';

/**
 * The pg client of the module's pools. A pooled client checked out between two queries has no
 * 'error' listener of the pool's, so a connection terminated in that moment (a server restart,
 * pg_terminate_backend, a reset socket) would be an unhandled 'error' event and crash the
 * process. The listener here keeps it an ordinary failure: the next query on that client rejects,
 * and the code that made it deals with it (retry, outage, discard).
 */
export class GuardedClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}
