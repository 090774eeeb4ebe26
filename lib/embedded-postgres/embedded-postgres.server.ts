import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Binaries, locateBinaries, placeData, postgresMajor, reachableBinaries, type ServerUser, serverUser } from './embedded-postgres.placement';
import { choosePort, dataDirectoryAt, PASSWORD, READY_TIMEOUT_MS, removeStalePid, runningServerOf, urlFor, USER } from './embedded-postgres.ports';

export interface EmbeddedPostgresHandle {
  url: string;
  /**
   * Where the cluster keeps its data: the requested directory, or, when the server runs as the
   * `postgres` user (started by root) and that user cannot reach it, a directory of the module's
   * own under /var/lib/nestjs-dbos (see `startEmbeddedPostgres`).
   */
  dataDir: string;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

export interface StartEmbeddedPostgresOptions {
  /** Default `.dbos/pgdata` under the working directory. */
  dir?: string;
  /** A port given here is used, or refused when taken. Default: `defaultPort`, or a free port when that is taken. */
  port?: number;
  /** The port tried first when `port` is not given. Default 54329. */
  defaultPort?: number;
  /** Where the server's location and problems are reported. Default: console.warn. */
  log?: (message: string) => void;
}

const DEFAULT_PORT = 54329;
const STOP_TIMEOUT_MS = 5_000;

/**
 * Starts (or reuses) a Postgres server with the binaries of the `embedded-postgres` package, for
 * development and tests.
 *
 * A server already running on the same data directory is reused (its port is read from its
 * `postmaster.pid`), so several processes of one app on one machine share it; a server of another
 * data directory is never reused, so two projects never share a cluster by accident.
 *
 * Started by root, the server runs as the `postgres` user (created if missing). That user must
 * reach the data directory and the binaries; where it cannot (the project sits under a private
 * directory such as root's home or a `mktemp -d` one), the data lives in
 * `/var/lib/nestjs-dbos/clusters/<project>-<name>-<hash of the requested directory>/pg<major>`
 * instead, and the binaries are copied once per package version to `/var/lib/nestjs-dbos/postgres/`
 * (`$TMPDIR/nestjs-dbos/` where /var/lib is not usable). The same project therefore finds its data
 * again at every start. Where the data lives is logged.
 */
export async function startEmbeddedPostgres(options: StartEmbeddedPostgresOptions = {}): Promise<EmbeddedPostgresHandle> {
  const log = options.log ?? ((message: string) => console.warn(message));
  const requestedDir = path.resolve(options.dir ?? path.join('.dbos', 'pgdata'));
  const installed = locateBinaries();
  const user = await serverUser();
  const major = postgresMajor(installed.postgres);
  const binaries = user ? reachableBinaries(installed, user) : installed;
  const { dataDir, unreachable } = placeData(requestedDir, major, user);
  if (unreachable && fs.existsSync(path.join(requestedDir, 'PG_VERSION'))) {
    log(`The cluster in ${requestedDir} is not used: the "${user!.name}" user that runs the server cannot reach it.`);
  }
  const where = `its data lives in ${dataDir}` + (unreachable ? ` (the "${user!.name}" user that runs it cannot reach ${requestedDir})` : '');

  const running = await runningServerOf(dataDir);
  if (running) {
    log(`Using the embedded Postgres already running on 127.0.0.1:${running.port}; ${where}`);
    return { url: running.url, dataDir, stop: async () => undefined };
  }
  const port = await choosePort(options.port, options.defaultPort ?? DEFAULT_PORT, dataDir, log);
  if (typeof port !== 'number') {
    log(`Using the embedded Postgres already running on 127.0.0.1:${port.reuse}; ${where}`);
    return { url: urlFor(port.reuse), dataDir, stop: async () => undefined };
  }

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) await initialise(binaries, dataDir, user);
  let server: StartedServer;
  try {
    server = await startServer(binaries, dataDir, port, user);
  } catch (err) {
    // Another process of this project may have started it a moment before: share that one.
    const raced = await runningServerOf(dataDir).catch(() => undefined);
    if (!raced) throw err;
    log(`Using the embedded Postgres already running on 127.0.0.1:${raced.port}; ${where}`);
    return { url: raced.url, dataDir, stop: async () => undefined };
  }
  log(`Started the embedded Postgres ${major} on 127.0.0.1:${port}; ${where}`);
  return { url: urlFor(port), dataDir, stop: () => server.stop(log) };
}

async function initialise(binaries: Binaries, dataDir: string, user: ServerUser | undefined): Promise<void> {
  fs.mkdirSync(dataDir, { recursive: true });
  fs.chmodSync(dataDir, 0o700);
  if (user) fs.chownSync(dataDir, user.uid, user.gid);
  // Beside the data directory: readable by the server's user, who reaches that directory.
  const passwordFile = path.join(path.dirname(dataDir), `.pwfile-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (user) fs.chownSync(passwordFile, user.uid, user.gid);
    const args = [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C'];
    const initdb = spawn(binaries.initdb, args, { ...spawnOptions(dataDir, user), stdio: ['ignore', 'pipe', 'pipe'] });
    const output = collectOutput(initdb);
    const code = await new Promise<number | null>((resolve, reject) => {
      initdb.once('error', reject);
      initdb.once('close', (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new Error(`initdb of the embedded Postgres in ${dataDir} failed (exit code ${code}): ${output()}`);
  } finally {
    fs.rmSync(passwordFile, { force: true });
  }
}

function spawnOptions(dataDir: string, user: ServerUser | undefined) {
  // The working directory is one the server's user can reach (the caller's may be private).
  return { cwd: path.dirname(dataDir), env: { ...process.env, LC_MESSAGES: 'C' }, ...(user ? { uid: user.uid, gid: user.gid } : {}) };
}

/** The last few KiB of a process's stdout and stderr, for error messages. */
function collectOutput(child: ChildProcess): () => string {
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4096);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => output.trim();
}

interface StartedServer {
  stop(log: (message: string) => void): Promise<void>;
}

async function startServer(binaries: Binaries, dataDir: string, port: number, user: ServerUser | undefined): Promise<StartedServer> {
  removeStalePid(dataDir);
  // Not detached: the server belongs to this process group, so a group kill takes it too.
  const child = spawn(binaries.postgres, ['-D', dataDir, '-p', String(port)], { ...spawnOptions(dataDir, user), stdio: ['ignore', 'ignore', 'pipe'] });
  const output = collectOutput(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  // Like a Ctrl-C, an exit of this process without stop() takes the server down (fast shutdown).
  const stopAtExit = () => child.kill('SIGINT');
  process.on('exit', stopAtExit);
  const hasExited = () => child.exitCode !== null || child.signalCode !== null || spawnError !== undefined;

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answers(urlFor(port)))) {
    if (hasExited() || Date.now() > deadline) {
      process.off('exit', stopAtExit);
      if (!hasExited()) child.kill('SIGQUIT');
      const why = spawnError
        ? spawnError.message
        : hasExited()
          ? `it exited (code ${child.exitCode}, signal ${child.signalCode})`
          : `it did not accept connections within ${READY_TIMEOUT_MS} ms`;
      throw new Error(`The embedded Postgres in ${dataDir} did not start on port ${port}: ${why}. Its output: ${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    async stop(log) {
      process.off('exit', stopAtExit);
      if (hasExited()) return; // e.g. a Ctrl-C reached it already
      child.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS)));
      const outcome = await Promise.race([exited, timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') log(`The embedded Postgres did not stop within ${STOP_TIMEOUT_MS} ms; it is left to finish on its own.`);
    },
  };
}

async function answers(url: string): Promise<boolean> {
  return (await dataDirectoryAt(url)) !== undefined;
}
