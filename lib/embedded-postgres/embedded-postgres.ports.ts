import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import { DbosConfigurationError } from '../errors/configuration.error';

/**
 * Which embedded server is whose: a server is reused only by processes of its own data directory
 * (found by its pid file or by asking it), and a port is chosen that no other project holds.
 */

/** The superuser of every embedded cluster, and the OS user a root process runs the server as. */
export const USER = 'postgres';
export const PASSWORD = 'postgres';
export const READY_TIMEOUT_MS = 120_000;

export function urlFor(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

/** The data directory of the server answering with our credentials at `url`, or undefined. */
export async function dataDirectoryAt(url: string): Promise<string | undefined> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query<{ data_directory: string }>('SHOW data_directory')).rows[0].data_directory;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The server already running on `dataDir`, found by its pid file (which names its port). */
export async function runningServerOf(dataDir: string): Promise<{ port: number; url: string } | undefined> {
  const lock = readPidFile(dataDir);
  if (!lock || !isPostgresProcess(lock.pid)) return undefined;
  const url = urlFor(lock.port);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const serving = await dataDirectoryAt(url);
    if (serving !== undefined && sameDirectory(serving, dataDir)) return { port: lock.port, url };
    if (!isPostgresProcess(lock.pid)) return undefined; // it went away meanwhile: start it anew
    if (Date.now() > deadline) {
      throw new DbosConfigurationError(
        `A Postgres process (pid ${lock.pid}) holds ${dataDir} but does not answer on port ${lock.port}. Stop it, or remove ${path.join(dataDir, 'postmaster.pid')} if it is not a Postgres server.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // starting up, or recovering after a crash
  }
}

/**
 * The port to start on: the requested one, else the default one, else (that one taken) a free
 * one. A server of another data directory on a requested port is refused rather than shared.
 */
export async function choosePort(
  requested: number | undefined,
  defaultPort: number,
  dataDir: string,
  log: (message: string) => void,
): Promise<number | { reuse: number }> {
  const port = requested ?? defaultPort;
  const serving = await dataDirectoryAt(urlFor(port));
  // Ours without a pid file we could see (another PID namespace): share it.
  if (serving !== undefined && sameDirectory(serving, dataDir)) return { reuse: port };
  if (serving === undefined && (await portIsFree(port))) return port;
  const occupant = serving !== undefined ? `the embedded Postgres of another data directory (${serving})` : 'another process';
  if (requested !== undefined) {
    throw new DbosConfigurationError(`Port ${port} for the embedded Postgres of ${dataDir} is taken by ${occupant}. Choose another port (embedded.port).`);
  }
  const free = await freePort();
  log(`Port ${port} is taken by ${occupant}; the embedded Postgres of ${dataDir} uses port ${free} instead.`);
  return free;
}

export function sameDirectory(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
}

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port free on 127.0.0.1 right now (the kernel picks it: listen on port 0, then close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function readPidFile(dataDir: string): { pid: number; port: number } | undefined {
  try {
    const lines = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    return { pid: Number(lines[0]), port: Number(lines[3]) };
  } catch {
    return undefined;
  }
}

/** Alive, and (where /proc tells) a Postgres: a pid file from before a container restart may name a reused pid. */
export function isPostgresProcess(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('postgres');
  } catch {
    return true;
  }
}

/** A server killed with SIGKILL leaves its pid file; Postgres refuses to start while it names a live pid. */
export function removeStalePid(dataDir: string): void {
  const lock = readPidFile(dataDir);
  if (lock && !isPostgresProcess(lock.pid)) fs.rmSync(path.join(dataDir, 'postmaster.pid'), { force: true });
}
