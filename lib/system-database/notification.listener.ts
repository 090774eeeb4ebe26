import { Client, type ClientConfig, type Notification } from 'pg';
import { NOTICE_PREFIX, eventKey, statusKey } from './system.names';
import { realClock, type WorkflowClock } from '../common/clock';

export interface ListenerLogger {
  warn(message: string): void;
  log(message: string): void;
}

/** How often a waiter re-checks on its own: rarely while LISTEN works, often when it does not. */
const SAFETY_POLL_MS = 10_000;
/** While a LISTEN connection is lost; and without one at all (behind a transaction pooler). */
const FALLBACK_POLL_MS = 1_000;
export const POLL_ONLY_INTERVAL_MS = 500;
const MAX_RECONNECT_DELAY_MS = 5_000;
/** An idle LISTEN connection hears nothing when its peer is gone (a partition): a ping tells. */
const PING_EVERY_MS = 10_000;
const PING_TIMEOUT_MS = 5_000;

/**
 * What a setEvent of this process committed (the event's serialized value, not its stored form):
 * handed to the waiters of its workflow's events in this process, so a getEvent here need not
 * read it back.
 */
export class HeardEvent {
  constructor(
    readonly workflowId: string,
    readonly key: string,
    readonly value: string | null,
  ) {}
}

/**
 * One LISTEN connection per process wakes every waiter (recv, getEvent, readStream, getResult,
 * queue dispatch). Waiters register keys such as `msg:<workflowId>` and re-check the database
 * when woken. If the connection is lost, waiters fall back to polling with jitter until it is
 * back. Without a connection (`connection` undefined: behind a transaction pooler, where LISTEN
 * has no session to live in) they always poll, every `pollIntervalMs`, and the `onPoll`
 * callbacks look for what notifications would have told (cancels made elsewhere).
 */
export class NotificationListener {
  private client?: Client;
  private listening = false;
  private closed = false;
  private reconnectDelay = 100;
  private reconnectTimer?: NodeJS.Timeout;
  private pingTimer?: NodeJS.Timeout;
  private everListened = false;
  private starting?: Promise<void>;
  private readonly waiters = new Map<string, Set<(heard?: HeardEvent) => void>>();
  private readonly globalCallbacks: ((key: string) => void)[] = [];
  private readonly reconnectCallbacks: (() => void)[] = [];
  private readonly pollCallbacks: (() => void)[] = [];
  private pollTimer?: NodeJS.Timeout;

  constructor(
    private readonly connection: ClientConfig | undefined,
    readonly channel: string,
    private readonly logger: ListenerLogger,
    /** The module's clock: waits registered on it count a workflow as blocked (the testing module's runUntilIdle). */
    readonly clock: WorkflowClock = realClock,
    private readonly configuredPollMs?: number,
  ) {}

  get isListening(): boolean {
    return this.listening;
  }

  /** True when there is no LISTEN connection by configuration: waiters always poll. */
  get isPollOnly(): boolean {
    return this.connection === undefined;
  }

  /** How often waiters and the queue dispatcher look at the database while nothing is heard. */
  get pollIntervalMs(): number {
    return this.configuredPollMs ?? (this.isPollOnly ? POLL_ONLY_INTERVAL_MS : FALLBACK_POLL_MS);
  }

  /** Connects and LISTENs; resolves when listening or after the first failure (then retries in the background). */
  start(): Promise<void> {
    this.starting ??= this.begin();
    return this.starting;
  }

  private async begin(): Promise<void> {
    if (this.closed) return;
    this.pollTimer = setInterval(() => {
      if (!this.listening) for (const callback of this.pollCallbacks) callback();
    }, this.pollIntervalMs);
    this.pollTimer.unref();
    if (!this.isPollOnly) await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed || !this.connection) return;
    const client = new Client({ ...this.connection, keepAlive: true });
    client.on('notification', (message: Notification) => this.dispatchPayload(message.payload ?? ''));
    client.on('error', (err: Error) => this.connectionLost(client, err));
    client.on('end', () => this.connectionLost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      this.listening = true;
      this.reconnectDelay = 100;
      this.startPinging(client);
      if (this.everListened) this.logger.log(`LISTEN connection is back on channel "${this.channel}"`);
      this.everListened = true;
      this.wakeAll(); // anything sent while we were deaf
      for (const callback of this.reconnectCallbacks) callback();
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      this.connectionLost(client, err as Error);
    }
  }

  private startPinging(client: Client): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      let answered = false;
      const timeout = setTimeout(() => {
        if (answered) return;
        this.connectionLost(client, new Error(`no answer to a ping within ${PING_TIMEOUT_MS} ms`));
        client.end().catch(() => undefined);
      }, PING_TIMEOUT_MS);
      timeout.unref();
      client.query('SELECT 1').then(
        () => {
          answered = true;
          clearTimeout(timeout);
        },
        () => undefined, // the client's 'error'/'end' handlers deal with a broken connection
      );
    }, PING_EVERY_MS);
    this.pingTimer.unref();
  }

  private connectionLost(client: Client, err: Error): void {
    if (this.client && this.client !== client) return;
    if (this.client === client || !this.client) clearInterval(this.pingTimer);
    const wasListening = this.listening;
    this.listening = false;
    this.client = undefined;
    if (this.closed || this.reconnectTimer) return;
    if (wasListening) this.logger.warn(`LISTEN connection lost (${err.message}); waiters poll until it is back`);
    const delay = this.reconnectDelay * (0.5 + Math.random());
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, MAX_RECONNECT_DELAY_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  /** Calls `callback` each time LISTEN is re-established: what was notified meanwhile was missed. */
  onReconnect(callback: () => void): void {
    this.reconnectCallbacks.push(callback);
  }

  /** Calls `callback` every `pollIntervalMs` while nothing is heard (no LISTEN connection, or it is lost). */
  onPoll(callback: () => void): void {
    this.pollCallbacks.push(callback);
  }

  /** Calls `callback` with the key of every notification (e.g. to learn of cancellations). */
  onAny(callback: (key: string) => void): void {
    this.globalCallbacks.push(callback);
  }

  /** A batch ('statuses:["id",...]') is the same as one 'status:<id>' message per id. */
  private dispatchPayload(payload: string): void {
    if (!payload.startsWith(NOTICE_PREFIX.statuses)) return this.dispatch(payload);
    let ids: unknown;
    try {
      ids = JSON.parse(payload.slice(NOTICE_PREFIX.statuses.length));
    } catch {
      return;
    }
    if (Array.isArray(ids)) for (const id of ids) this.dispatch(statusKey(String(id)));
  }

  /**
   * Wakes this process's waiters of `evt:<workflowId>` with what a setEvent here just committed
   * (with or without LISTEN); the database's notice of the same write follows for every process.
   */
  deliver(heard: HeardEvent): void {
    for (const wake of [...(this.waiters.get(eventKey(heard.workflowId)) ?? [])]) wake(heard);
  }

  /**
   * Wakes this process's waiters and watchers of `status:<id>` for outcomes this process just
   * wrote (RunLifecycleRepository.onOutcomes): the database announces an outcome only to processes
   * that marked it watched (ListingRepository.watchOutcomes).
   */
  announce(workflowIds: readonly string[]): void {
    for (const id of workflowIds) {
      try {
        this.dispatch(statusKey(id));
      } catch (err) {
        // The outcome is written: a waiter's failure must not become the writer's.
        this.logger.warn(`A waiter of workflow ${id}'s outcome failed when told of it: ${(err as Error).message}`);
      }
    }
  }

  private dispatch(key: string): void {
    for (const callback of this.globalCallbacks) callback(key);
    const callbacks = this.waiters.get(key);
    if (!callbacks) return;
    for (const wake of [...callbacks]) wake();
  }

  private wakeAll(): void {
    for (const callbacks of [...this.waiters.values()]) for (const wake of [...callbacks]) wake();
  }

  /**
   * Re-runs `check` until it returns a value (not undefined), the deadline passes (undefined) or
   * the signal aborts (rejects with its reason). Between checks it sleeps until one of `keys` is
   * notified. The waiter is registered before each check, so no notification is missed.
   */
  async waitUntil<T>(
    keys: string[],
    /** Given what woke the waiter when it carried something (`deliver`'s HeardEvent), undefined otherwise. */
    check: (heard?: HeardEvent) => Promise<T | undefined>,
    deadline = Infinity,
    signal?: AbortSignal,
  ): Promise<T | undefined> {
    let heard: HeardEvent | undefined;
    for (;;) {
      signal?.throwIfAborted();
      const wakeup = this.subscribe(keys, signal);
      try {
        const value = await check(heard);
        if (value !== undefined) return value;
        if (deadline <= this.clock.now()) return undefined;
        heard = await wakeup.wait(this.recheckDelayMs(), deadline);
      } finally {
        wakeup.dispose();
      }
    }
  }

  /**
   * Calls `onKey(key)` each time one of `keys` is notified (and for every key when LISTEN comes
   * back: what was sent meanwhile was missed), until the returned function is called. Registered
   * once for the whole wait, unlike `waitUntil`: a set of thousands of keys is not registered
   * again at each wake. Without LISTEN nothing calls it: the caller re-checks every
   * `recheckIntervalMs`.
   */
  watch(keys: Iterable<string>, onKey: (key: string, heard?: HeardEvent) => void): () => void {
    const entries: [string, (heard?: HeardEvent) => void][] = [];
    for (const key of keys) {
      const wake = (heard?: HeardEvent) => onKey(key, heard);
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      set.add(wake);
      entries.push([key, wake]);
    }
    return () => {
      for (const [key, wake] of entries.splice(0)) {
        const set = this.waiters.get(key);
        set?.delete(wake);
        if (set?.size === 0) this.waiters.delete(key);
      }
    };
  }

  /** How long a waiter sleeps before re-checking on its own: long while LISTEN works. */
  get recheckIntervalMs(): number {
    return this.listening ? SAFETY_POLL_MS : this.pollIntervalMs;
  }

  /** One wait before a re-check: `recheckIntervalMs` give or take a quarter, so waiters do not re-check in step. */
  recheckDelayMs(): number {
    return this.recheckIntervalMs * (0.75 + Math.random() * 0.5);
  }

  private subscribe(keys: string[], signal?: AbortSignal): { wait(pollMs: number, deadline: number): Promise<HeardEvent | undefined>; dispose(): void } {
    let resolveWoken!: (heard?: HeardEvent) => void;
    const woken = new Promise<HeardEvent | undefined>((resolve) => (resolveWoken = resolve));
    const wake = () => resolveWoken(undefined);
    const unwatch = this.watch(keys, (_key, heard) => resolveWoken(heard));
    signal?.addEventListener('abort', wake, { once: true });
    let timer: NodeJS.Timeout | undefined;
    let cancelWait: (() => void) | undefined;
    return {
      // The re-check poll is real time; the deadline is the module's clock.
      wait: (pollMs, deadline) => {
        timer = setTimeout(wake, pollMs);
        cancelWait = this.clock.wait(deadline, wake);
        return woken;
      },
      dispose: () => {
        clearTimeout(timer);
        cancelWait?.();
        signal?.removeEventListener('abort', wake);
        unwatch();
      },
    };
  }

  /** Number of registered waiter keys (for tests and health). */
  get waiterCount(): number {
    return this.waiters.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    clearInterval(this.pollTimer);
    this.listening = false;
    const client = this.client;
    this.client = undefined;
    this.wakeAll();
    await client?.end().catch(() => undefined);
  }
}
