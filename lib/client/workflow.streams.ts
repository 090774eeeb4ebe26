import { Observable } from 'rxjs';
import { DbosNotFoundError } from '../errors/not-found.error';
import { deserialize } from '../serialization/value.codec';
import type { CommunicationRepository, StreamEntry } from '../system-database/communication.repository';
import type { ListingRepository } from '../system-database/listing.repository';
import type { NotificationListener } from '../system-database/notification.listener';
import { statusKey, streamKey } from '../system-database/system.names';
import { isTerminal } from '../workflow/workflow.outcome';
import type { StreamEvent } from './client-options.interface';

export interface StreamBackend {
  communication: CommunicationRepository;
  listing: ListingRepository;
  listener: NotificationListener;
}

/** Reads workflow streams for the client: as they are written, until closed or the workflow ends. */
export class WorkflowStreams {
  constructor(private readonly backend: StreamBackend) {}

  async *read<T>(workflowId: string, key: string, signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
    for await (const event of this.events<T>(workflowId, key, signal)) yield event.data;
  }

  values$<T>(workflowId: string, key: string): Observable<T> {
    return observe((signal) => this.read<T>(workflowId, key, signal));
  }

  events$<T>(workflowId: string, key: string): Observable<StreamEvent<T>> {
    return observe((signal) => this.events<T>(workflowId, key, signal));
  }

  /** The stream's values with their offsets (the SSE event ids). */
  private async *events<T>(workflowId: string, key: string, signal?: AbortSignal): AsyncGenerator<StreamEvent<T>, void, undefined> {
    let offset = 0;
    const watch = { asked: this.backend.listener.isPollOnly };
    for (;;) {
      const batch = await this.backend.listener.waitUntil(
        [streamKey(workflowId), statusKey(workflowId)],
        () => this.nextBatch(workflowId, key, offset, watch),
        Infinity,
        signal,
      );
      if (!batch || batch === 'ended') return;
      for (const entry of batch) {
        if (entry.closed) return;
        offset = entry.offset + 1;
        yield { data: deserialize<T>(entry.value), id: String(entry.offset) };
      }
    }
  }

  /** `watch.asked`: its outcome's notice was asked for (ListingRepository.watchOutcomes), the stream's end if it is never closed. */
  private async nextBatch(workflowId: string, key: string, offset: number, watch: { asked: boolean }): Promise<StreamEntry[] | 'ended' | undefined> {
    const entries = await this.backend.communication.readStream(workflowId, key, offset);
    if (entries.length > 0) return entries;
    const row = await this.backend.listing.get(workflowId);
    if (!row) throw new DbosNotFoundError(`No workflow has the id "${workflowId}".`);
    if (!isTerminal(row.status)) {
      if (watch.asked) return undefined;
      watch.asked = true;
      await this.backend.listing.watchOutcomes([workflowId]);
      return this.nextBatch(workflowId, key, offset, watch);
    }
    // It ended: anything written before its last write is visible now.
    const last = await this.backend.communication.readStream(workflowId, key, offset);
    return last.length > 0 ? last : 'ended';
  }
}

/** An async iterable as an Observable; unsubscribing aborts the iteration. */
function observe<T>(iterate: (signal: AbortSignal) => AsyncIterable<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const abort = new AbortController();
    void (async () => {
      try {
        for await (const value of iterate(abort.signal)) subscriber.next(value);
        subscriber.complete();
      } catch (err) {
        if (!abort.signal.aborted) subscriber.error(err);
      }
    })();
    return () => abort.abort();
  });
}
