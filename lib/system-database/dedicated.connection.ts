import { Client, type ClientConfig, type QueryResult, type QueryResultRow } from 'pg';
import { asUnavailable } from './connection-errors.util';
import type { Queryable } from './queryable.interface';

/**
 * One connection of its own, outside the pool, for work that must not queue behind the app
 * (heartbeats): a pool whose connections are all held by long transactions cannot make a live
 * executor look dead. Every query has a deadline, so a half-open socket (a partition) fails in
 * `timeoutMs` instead of hanging; a failed connection is dropped and the next query opens a new one.
 */
export class DedicatedConnection implements Queryable {
  private client?: Promise<Client>;

  constructor(
    private readonly config: ClientConfig,
    private readonly target: string,
    private readonly timeoutMs: number,
  ) {}

  async query<R extends QueryResultRow = QueryResultRow>(text: string, values: unknown[] = []): Promise<QueryResult<R>> {
    const client = await this.open();
    try {
      return await client.query<R>(text, values);
    } catch (err) {
      this.drop(client);
      throw asUnavailable(err, this.target);
    }
  }

  private open(): Promise<Client> {
    this.client ??= (async () => {
      const client = new Client({
        ...this.config,
        keepAlive: true,
        keepAliveInitialDelayMillis: Math.min(this.timeoutMs, 10_000),
        connectionTimeoutMillis: this.timeoutMs,
        query_timeout: this.timeoutMs,
      });
      // Errors on an idle connection: dropped here, the next query reconnects.
      client.on('error', () => this.drop(client));
      try {
        await client.connect();
        return client;
      } catch (err) {
        this.client = undefined;
        throw asUnavailable(err, this.target);
      }
    })();
    return this.client;
  }

  private drop(client: Client): void {
    void this.client?.then(
      (current) => {
        if (current === client) this.client = undefined;
      },
      () => undefined, // a reconnect that failed has cleared itself
    );
    client.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.then((c) => c.end()).catch(() => undefined);
  }
}
