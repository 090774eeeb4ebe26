import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { ChildApp } from '../support/child-app';
import { databaseUrl } from '../support/database';
import { FaultProxy } from '../support/fault-proxy';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

function target(): { host: string; port: number } {
  const parsed = new URL(databaseUrl());
  return { host: parsed.hostname, port: Number(parsed.port || 5432) };
}

/** A connected pg client through `url`; its 'error' events are kept (an unhandled one would crash jest). */
async function connect(url: string): Promise<{ client: Client; errors: Error[] }> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  const errors: Error[] = [];
  client.on('error', (err) => errors.push(err));
  await client.connect();
  return { client, errors };
}

/** The median round trip of `SELECT 1`, in ms. */
async function roundTrip(client: Client, n = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await client.query('SELECT 1');
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)];
}

/** What `promise` settles to within `ms`, or 'pending'. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<{ value: T } | { error: Error } | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ value }),
        (error: Error) => ({ error }),
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('FaultProxy', () => {
  let proxy: FaultProxy;
  const clients: Client[] = [];
  beforeEach(async () => {
    proxy = await FaultProxy.start({ target: target() });
  });
  afterEach(async () => {
    await proxy.close();
    // Clients behind a dead connection never finish end(): destroying the proxy's sockets closes them.
    await Promise.all(clients.splice(0).map((c) => settledWithin(c.end(), 2_000)));
  });
  const open = async (url = proxy.url(databaseUrl())) => {
    const c = await connect(url);
    clients.push(c.client);
    return c;
  };

  it('listens on a free loopback port and rewrites only the host and port of a URL', () => {
    expect(proxy.port).toBeGreaterThan(0);
    expect(proxy.host).toBe('127.0.0.1');
    expect(proxy.url('postgres://u:p@db.example:6543/app?application_name=x')).toBe(`postgres://u:p@127.0.0.1:${proxy.port}/app?application_name=x`);
  });

  it('forwards queries', async () => {
    const { client } = await open();
    expect((await client.query('SELECT 41 + 1 AS n')).rows).toEqual([{ n: 42 }]);
    expect(proxy.counters).toMatchObject({ connections: 1, forwarded: 1, open: 1 });
    expect(proxy.counters.bytesForwarded).toBeGreaterThan(0);
  });

  it('adds latency each direction with delay()', async () => {
    const { client } = await open();
    const before = await roundTrip(client);
    proxy.delay(100);
    const delayed = await roundTrip(client);
    proxy.delay(0);
    const after = await roundTrip(client);
    expect(delayed).toBeGreaterThanOrEqual(before + 190); // 100 ms there, 100 ms back
    expect(after).toBeLessThan(delayed - 150);
    expect(proxy.counters.delays).toBe(2);
  });

  it('blackhole() makes a query hang; after heal() a new client connects and queries', async () => {
    const { client: old, errors } = await open();
    proxy.blackhole();
    const hanging = old.query('SELECT 1');
    hanging.catch(() => undefined);
    expect(await settledWithin(hanging, 1_000)).toBe('pending');
    expect(errors).toEqual([]);

    // A connect during the blackhole succeeds at the TCP level but the handshake never answers.
    const during = new Client({ connectionString: proxy.url(databaseUrl()) });
    during.on('error', () => undefined);
    const connecting = during.connect();
    connecting.catch(() => undefined);
    expect(await settledWithin(connecting, 1_000)).toBe('pending');
    expect(proxy.counters.blackholedConnections).toBe(1);

    await proxy.heal();
    const { client: fresh } = await open();
    expect((await fresh.query('SELECT 2 AS n')).rows).toEqual([{ n: 2 }]);
    // The old connection lost bytes: it stays dead (silent) after the heal.
    expect(await settledWithin(hanging, 500)).toBe('pending');
    expect(await settledWithin(connecting, 100)).toBe('pending');
    expect(proxy.counters).toMatchObject({ blackholes: 1, heals: 1 });
    proxy.cut(); // the dead connections are reset: both waiting calls fail now
    expect(await settledWithin(hanging, 2_000)).toHaveProperty('error');
    expect(await settledWithin(connecting, 2_000)).toHaveProperty('error');
  });

  it('cut() resets every open connection: an open client fails with a connection error', async () => {
    const a = await open();
    const b = await open();
    expect(proxy.cut()).toBe(2);
    const outcome = await settledWithin(a.client.query('SELECT 1'), 2_000);
    expect(outcome).toHaveProperty('error');
    expect((outcome as { error: Error }).error.message).toMatch(/Connection terminated|ECONNRESET|not queryable|closed/i);
    const errorsOfB = () => b.errors.map((e) => (e as NodeJS.ErrnoException).code ?? e.message).join(' ');
    await waitFor(() => /ECONNRESET|terminated/i.test(errorsOfB()), { what: "b's connection error event" });
    expect(errorsOfB()).toMatch(/ECONNRESET|terminated/i);
    expect(proxy.counters).toMatchObject({ cuts: 1, cutConnections: 2, open: 0 });
    // New connections still work.
    const { client } = await open();
    expect((await client.query('SELECT 3 AS n')).rows).toEqual([{ n: 3 }]);
  });

  it('refuse() makes new connects fail while open ones keep working; heal() listens again on the same port', async () => {
    const { client } = await open();
    const port = proxy.port;
    await proxy.refuse();
    const refused = await connect(proxy.url(databaseUrl())).catch((err: NodeJS.ErrnoException) => err);
    expect((refused as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect((await client.query('SELECT 4 AS n')).rows).toEqual([{ n: 4 }]);
    await proxy.heal();
    expect(proxy.port).toBe(port);
    const { client: again } = await open();
    expect((await again.query('SELECT 5 AS n')).rows).toEqual([{ n: 5 }]);
    expect(proxy.counters).toMatchObject({ refusals: 1, heals: 1 });
  });

  it('closes the app side when the target cannot be reached', async () => {
    const unused = await freePort();
    const nowhere = await FaultProxy.start({ target: { host: '127.0.0.1', port: unused } });
    try {
      await expect(connect(nowhere.url(databaseUrl()))).rejects.toThrow();
      expect(nowhere.counters.targetErrors).toBe(1);
    } finally {
      await nowhere.close();
    }
  });

  it('runs as a CLI in a child process, driven by commands on stdin', async () => {
    const { host, port } = target();
    const proxyCli = ChildApp.run('test/support/fault-proxy.ts', { args: ['--target', `${host}:${port}`], stdin: true });
    const child = proxyCli.process;
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async (): Promise<string> => {
      const outcome = await settledWithin(lines.next(), 30_000);
      if (outcome === 'pending' || 'error' in outcome) throw new Error('the CLI did not answer');
      return outcome.value.value as string;
    };
    try {
      const listening = await next();
      expect(listening).toMatch(/^LISTENING \d+$/);
      const url = new URL(databaseUrl());
      url.hostname = '127.0.0.1';
      url.port = listening.split(' ')[1];
      const { client } = await open(url.toString());
      expect((await client.query('SELECT 6 AS n')).rows).toEqual([{ n: 6 }]);
      child.stdin!.write('cut\n');
      expect(JSON.parse(await next())).toMatchObject({ state: 'forward', cuts: 1, cutConnections: 1 });
      child.stdin!.write('bogus\n');
      expect(JSON.parse(await next())).toEqual({ error: 'unknown command "bogus"' });
      child.stdin!.end('close\n');
      expect(await settledWithin(proxyCli.waitForExit(), 10_000)).toEqual({ value: 0 });
    } finally {
      await proxyCli.kill('SIGKILL');
    }
  });
});
