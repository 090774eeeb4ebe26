/**
 * A TCP proxy between an app and Postgres (or any TCP server) whose faults can be switched at run
 * time, to see how the app behaves when the network, not the server, misbehaves:
 *
 *   const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: 5432 } });
 *   const url = proxy.url(process.env.DATABASE_URL!); // same URL, host and port of the proxy
 *   proxy.delay(200);   // 200 ms added to every chunk, each direction
 *   proxy.blackhole();  // a partition: sockets stay open, every byte is dropped, queries hang
 *   proxy.heal();       // new connections work again (see below for the old ones)
 *   proxy.cut();        // every open connection is reset (RST) at once
 *   await proxy.refuse(); // stop listening: new connects fail with ECONNREFUSED
 *   await proxy.close();
 *
 * Semantics worth knowing:
 * - It listens on 127.0.0.1 only, on a free port (port 0) unless one is given.
 * - `blackhole()`: from then on nothing is forwarded in either direction, and neither side learns
 *   when the other closes. New connections are accepted (their connect succeeds) but never reach
 *   the target. The proxy's own kernel still answers TCP keepalives, so only application-level
 *   timeouts can tell such a connection is dead (a real partition would also fail keepalives).
 * - `heal()`: connections opened from then on are forwarded normally. The bytes dropped while the
 *   proxy was blackholed are lost for good, as in a partition, so every connection that was open
 *   during the blackhole (or accepted by it) is dead: it stays open and silent, dropping whatever
 *   either side sends, until one side closes it (the other side is then closed too) or `cut()`
 *   resets it. `heal()` followed by `cut()` is what a partition looks like after the server gave
 *   up on its connections: the client's next packet meets a reset.
 * - `delay(ms)` applies to chunks received from then on; order within a direction is kept.
 * - `refuse()` closes the listening socket (open connections keep working); `heal()` listens
 *   again on the same port.
 *
 * It runs in any process: import it, or run it as a small CLI whose commands are read from stdin,
 * one a line (`delay 200`, `blackhole`, `heal`, `cut`, `refuse`, `stats`, `close`); it prints
 * `LISTENING <port>` when ready and one JSON line of counters after each command:
 *
 *   node -r ts-node/register/transpile-only test/support/fault-proxy.ts --target 127.0.0.1:5432 [--port N]
 */
import * as net from 'node:net';

export interface FaultProxyOptions {
  /** Where connections are forwarded. */
  target: { host: string; port: number };
  /** Port to listen on (127.0.0.1). Default 0: a free port. */
  port?: number;
}

export type FaultMode = 'forward' | 'blackhole' | 'refuse';

export interface FaultProxyCounters {
  /** Connections accepted, in every mode. */
  connections: number;
  /** Of those, connected through to the target. */
  forwarded: number;
  /** Of those, accepted while blackholed (never reach the target). */
  blackholedConnections: number;
  /** Connections open now. */
  open: number;
  /** Faults injected, by kind (each call counts, also one that changes nothing). */
  delays: number;
  blackholes: number;
  heals: number;
  cuts: number;
  refusals: number;
  /** Connections reset by `cut()`. */
  cutConnections: number;
  /** Connections closed because their target could not be reached. */
  targetErrors: number;
  bytesForwarded: number;
  bytesDropped: number;
}

const LOOPBACK = '127.0.0.1';

/** One proxied connection: the app's socket, the target's (absent when accepted while blackholed). */
class ProxiedConnection {
  /** Set once bytes may have been dropped: from then on it never forwards again. */
  dead: boolean;
  readonly upstream?: net.Socket;

  constructor(
    readonly downstream: net.Socket,
    private readonly proxy: FaultProxy,
    target: FaultProxyOptions['target'],
    blackholed: boolean,
  ) {
    this.dead = blackholed;
    downstream.setNoDelay(true);
    downstream.on('error', () => undefined);
    downstream.on('close', () => this.onClose(downstream));
    if (!blackholed) {
      const upstream = net.connect({ host: target.host, port: target.port });
      upstream.setNoDelay(true);
      let connected = false;
      upstream.once('connect', () => (connected = true));
      upstream.on('error', () => {
        if (!connected) proxy.countTargetError();
      });
      upstream.on('close', () => this.onClose(upstream));
      this.upstream = upstream;
      this.pipe(downstream, upstream);
      this.pipe(upstream, downstream);
    } else {
      downstream.on('data', (chunk: Buffer) => proxy.countDropped(chunk.length));
    }
  }

  get sockets(): net.Socket[] {
    return this.upstream ? [this.downstream, this.upstream] : [this.downstream];
  }

  /** Forwards `from` to `to` through the current delay, keeping order; drops everything once dead. */
  private pipe(from: net.Socket, to: net.Socket): void {
    const queue: { at: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    let lastAt = 0;
    let waitingForDrain = false;
    const write = (chunk: Buffer): void => {
      this.proxy.countForwarded(chunk.length);
      if (!to.write(chunk) && !waitingForDrain) {
        waitingForDrain = true;
        from.pause();
        to.once('drain', () => {
          waitingForDrain = false;
          from.resume();
        });
      }
    };
    const flush = (): void => {
      timer = undefined;
      const now = Date.now();
      while (queue.length > 0 && queue[0].at <= now) {
        const { chunk } = queue.shift()!;
        if (this.dead || to.destroyed) {
          this.proxy.countDropped(chunk.length);
          continue;
        }
        write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(flush, queue[0].at - now);
    };
    from.on('data', (chunk: Buffer) => {
      if (this.dead) {
        this.proxy.countDropped(chunk.length);
        return;
      }
      const delayMs = this.proxy.delayMs;
      if (delayMs <= 0 && queue.length === 0) {
        write(chunk);
        return;
      }
      lastAt = Math.max(lastAt, Date.now() + delayMs);
      queue.push({ at: lastAt, chunk });
      timer ??= setTimeout(flush, Math.max(0, queue[0].at - Date.now()));
    });
    from.on('close', () => {
      if (timer) clearTimeout(timer);
    });
  }

  /** One side closed: close the other too, unless the blackhole keeps that from being seen. */
  private onClose(side: net.Socket): void {
    const other = side === this.downstream ? this.upstream : this.downstream;
    if (!this.proxy.blackholed && other && !other.destroyed) other.destroy();
    if (this.sockets.every((s) => s.destroyed)) this.proxy.forget(this);
  }

  /** After a heal: a side that closed during the blackhole is now seen by the other. */
  closeHalfClosed(): void {
    if (this.sockets.some((s) => s.destroyed)) for (const s of this.sockets) s.destroy();
  }

  reset(): void {
    for (const s of this.sockets) {
      if (s.destroyed) continue;
      if (s.connecting) s.destroy();
      else s.resetAndDestroy();
    }
  }
}

export class FaultProxy {
  private server?: net.Server;
  private readonly connections = new Set<ProxiedConnection>();
  private mode: FaultMode = 'forward';
  private closed = false;
  private listenPort: number;
  delayMs = 0;
  private readonly stats: Omit<FaultProxyCounters, 'open'> = {
    connections: 0,
    forwarded: 0,
    blackholedConnections: 0,
    delays: 0,
    blackholes: 0,
    heals: 0,
    cuts: 0,
    refusals: 0,
    cutConnections: 0,
    targetErrors: 0,
    bytesForwarded: 0,
    bytesDropped: 0,
  };

  private constructor(private readonly options: FaultProxyOptions) {
    this.listenPort = options.port ?? 0;
  }

  /** Listens on 127.0.0.1 (a free port unless `options.port`), forwarding to `options.target`. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await proxy.listen();
    return proxy;
  }

  get host(): string {
    return LOOPBACK;
  }

  get port(): number {
    return this.listenPort;
  }

  /** The current fault: forwarding (maybe with a delay), blackholed, or refusing connections. */
  get state(): FaultMode {
    return this.mode;
  }

  get blackholed(): boolean {
    return this.mode === 'blackhole';
  }

  get counters(): FaultProxyCounters {
    return { ...this.stats, open: this.connections.size };
  }

  /** `databaseUrl` with its host and port replaced by the proxy's (user, database and parameters kept). */
  url(databaseUrl: string): string {
    const parsed = new URL(databaseUrl);
    parsed.hostname = LOOPBACK;
    parsed.port = String(this.listenPort);
    return parsed.toString();
  }

  /** Adds `ms` of latency to every chunk each direction (0: none). */
  delay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`delay must be a number >= 0, got ${ms}`);
    this.stats.delays++;
    this.delayMs = ms;
  }

  /**
   * A partition: open sockets stay open and silent, new ones are accepted but go nowhere. Takes
   * effect at once; the promise only matters after `refuse()` (it resolves once listening again).
   */
  blackhole(): Promise<void> {
    this.assertOpen();
    this.stats.blackholes++;
    this.mode = 'blackhole';
    for (const connection of this.connections) connection.dead = true;
    return this.listen();
  }

  /** Back to forwarding, for new connections (those open during a blackhole stay dead, see above). */
  async heal(): Promise<void> {
    this.assertOpen();
    this.stats.heals++;
    this.mode = 'forward';
    for (const connection of this.connections) connection.closeHalfClosed();
    await this.listen();
  }

  /** Resets every open connection (RST to both sides) at once; returns how many there were. */
  cut(): number {
    this.stats.cuts++;
    const n = this.connections.size;
    this.stats.cutConnections += n;
    for (const connection of [...this.connections]) connection.reset();
    return n;
  }

  /** Stops listening, so new connects fail (ECONNREFUSED); open connections are left alone. */
  async refuse(): Promise<void> {
    this.assertOpen();
    this.stats.refusals++;
    this.mode = 'refuse';
    await this.stopListening();
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const connection of [...this.connections]) for (const s of connection.sockets) s.destroy();
    this.connections.clear();
    await this.stopListening();
  }

  // ----- internals used by the connections

  countForwarded(bytes: number): void {
    this.stats.bytesForwarded += bytes;
  }

  countDropped(bytes: number): void {
    this.stats.bytesDropped += bytes;
  }

  countTargetError(): void {
    this.stats.targetErrors++;
  }

  forget(connection: ProxiedConnection): void {
    this.connections.delete(connection);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the proxy is closed');
  }

  /** (Re)opens the listening socket on the proxy's port; a no-op while it listens. */
  private listen(): Promise<void> {
    if (this.server || this.closed) return Promise.resolve();
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise<void>((resolve, reject) => {
      server.once('error', (err) => {
        if (this.server === server) this.server = undefined;
        reject(err);
      });
      server.listen({ host: LOOPBACK, port: this.listenPort }, () => {
        this.listenPort = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  private stopListening(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    // close() stops accepting at once; its callback waits for the connections it accepted, which
    // the proxy tracks itself, so it is not awaited.
    server.close();
    return Promise.resolve();
  }

  private accept(socket: net.Socket): void {
    if (this.closed || this.mode === 'refuse') {
      socket.destroy();
      return;
    }
    this.stats.connections++;
    const blackholed = this.mode === 'blackhole';
    if (blackholed) this.stats.blackholedConnections++;
    else this.stats.forwarded++;
    this.connections.add(new ProxiedConnection(socket, this, this.options.target, blackholed));
  }
}

// ---------------------------------------------------------------------------------------------
// CLI: commands on stdin, one a line.

async function cli(argv: string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const target = arg('target');
  const match = target?.match(/^([^:]+):(\d+)$/);
  if (!match) {
    process.stderr.write('usage: fault-proxy --target HOST:PORT [--port N]\n');
    process.exit(2);
  }
  const proxy = await FaultProxy.start({ target: { host: match[1], port: Number(match[2]) }, port: Number(arg('port') ?? 0) });
  process.stdout.write(`LISTENING ${proxy.port}\n`);
  const { createInterface } = await import('node:readline');
  const lines = createInterface({ input: process.stdin });
  const done = async (): Promise<never> => {
    await proxy.close();
    process.exit(0);
  };
  lines.on('close', () => void done());
  for await (const line of lines) {
    const [command, value] = line.trim().split(/\s+/);
    try {
      if (command === 'delay') proxy.delay(Number(value));
      else if (command === 'blackhole') await proxy.blackhole();
      else if (command === 'heal') await proxy.heal();
      else if (command === 'cut') proxy.cut();
      else if (command === 'refuse') await proxy.refuse();
      else if (command === 'close') await done();
      else if (command !== 'stats' && command !== '') throw new Error(`unknown command "${command}"`);
      process.stdout.write(`${JSON.stringify({ state: proxy.state, delayMs: proxy.delayMs, ...proxy.counters })}\n`);
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
    }
  }
}

if (require.main === module) {
  cli(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`fault-proxy: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}
