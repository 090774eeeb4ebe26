import { Injectable, type MessageEvent, type OnModuleDestroy } from '@nestjs/common';
import { Observable, share } from 'rxjs';
import { DashboardBackend } from './dashboard.backend';
import { summaryOfRow } from './workflow-views';

/** Changes are looked for this often without a notification, and at most this often with many. */
const POLL_MS = 1_000;
const MIN_GAP_MS = 250;
/** Rows are read again this far back: a commit can land after a later timestamp was seen. */
const LOOKBACK_MS = 5_000;
const BATCH = 200;
/** A comment event this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

/**
 * The live feed of the workflows page: every workflow whose status row changes, as a server-sent
 * event `workflow` with its summary. One reader serves every open page; it reads the changes
 * when the system database notifies anything (or each second), from the updated_at indexes.
 */
@Injectable()
export class DashboardFeed implements OnModuleDestroy {
  private wake?: () => void;
  private readonly stop = new AbortController();
  private subscribedToNotifications = false;
  readonly events$: Observable<MessageEvent> = new Observable<MessageEvent>((subscriber) => {
    const abort = new AbortController();
    const stopAll = () => abort.abort();
    this.stop.signal.addEventListener('abort', stopAll);
    void this.run((event) => subscriber.next(event), abort.signal)
      .catch((err: unknown) => subscriber.error(err))
      .finally(() => subscriber.complete());
    return () => {
      this.stop.signal.removeEventListener('abort', stopAll);
      abort.abort();
    };
  }).pipe(share());

  constructor(private readonly backend: DashboardBackend) {}

  onModuleDestroy(): void {
    this.stop.abort();
  }

  private async run(emit: (event: MessageEvent) => void, signal: AbortSignal): Promise<void> {
    this.listenForNotifications();
    const seen = new Map<string, number>();
    let since = Date.now() - LOOKBACK_MS;
    let lastKeepalive = Date.now();
    while (!signal.aborted) {
      const rows = await this.backend.current.changedSince(since, BATCH);
      for (const row of rows) {
        // A row is sent again only when it changed since (the lookback reads rows twice).
        if (seen.get(row.workflowId) === row.updatedAt) continue;
        seen.set(row.workflowId, row.updatedAt);
        emit({ type: 'workflow', data: summaryOfRow(row) });
      }
      const newest = rows.reduce((max, r) => Math.max(max, r.updatedAt), since + LOOKBACK_MS);
      if (rows.length === BATCH) {
        since = rows[rows.length - 1].updatedAt - 1;
        continue;
      }
      since = Math.max(since, newest - LOOKBACK_MS);
      for (const [id, at] of seen) if (at <= since) seen.delete(id);
      if (Date.now() - lastKeepalive >= KEEPALIVE_MS) {
        emit({ type: 'keepalive', data: {} });
        lastKeepalive = Date.now();
      }
      await this.nextWake(signal);
    }
  }

  /** The first page opened subscribes to the module's notifications, once. */
  private listenForNotifications(): void {
    if (this.subscribedToNotifications) return;
    this.subscribedToNotifications = true;
    this.backend.listener.onAny(() => this.wake?.());
  }

  private async nextWake(signal: AbortSignal): Promise<void> {
    await delay(MIN_GAP_MS, signal);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, POLL_MS - MIN_GAP_MS);
      this.wake = done;
      signal.addEventListener('abort', done);
    });
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
