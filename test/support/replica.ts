/**
 * A real streaming replica for tests: a primary Postgres cluster of its own (`initdb`,
 * `wal_level = replica`, replication allowed from 127.0.0.1) and a hot standby made from it with
 * `pg_basebackup -R`, both on free local ports, in a temporary directory, stopped by `stop()`.
 * Uses Debian's postgresql-15 binaries (or `PG_BIN`); as root, they run as the `postgres` OS user.
 *
 *   const cluster = await ReplicatedCluster.start();
 *   cluster.primaryUrl('app');           // postgres://postgres@127.0.0.1:<p>/app
 *   await cluster.pauseReplay();         // the standby stops applying WAL: lag on demand
 *   await cluster.lag();                 // { bytes, replayPaused, ... }
 *   await cluster.resumeReplay(); await cluster.waitCaughtUp();
 *   await cluster.stopStandby(); await cluster.startStandby();
 *   await cluster.promoteStandby();      // for failover tests
 *   await cluster.stop();
 */
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { sqlAt } from './database';
import { freePort } from './ports';
import { waitFor } from './wait';

const run = promisify(execFile);

export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Why the replica tests are skipped here, or undefined when they can run. */
export function replicaToolsMissing(): string | undefined {
  for (const tool of ['initdb', 'pg_ctl', 'pg_basebackup']) {
    if (!existsSync(path.join(PG_BIN, tool))) return `no ${tool} in ${PG_BIN} (apt-get install postgresql-15, or set PG_BIN)`;
  }
  return undefined;
}

export interface ReplicaLag {
  /** WAL bytes the standby has received but not replayed, plus what it has not received yet. */
  bytes: number;
  replayPaused: boolean;
  /** Commit time of the last transaction the standby replayed (null before the first). */
  lastReplayAt: Date | null;
  primaryLsn: string;
  replayLsn: string;
}

export class ReplicatedCluster {
  private standbyRunning = true;

  private constructor(
    private readonly dir: string,
    readonly primaryPort: number,
    readonly standbyPort: number,
  ) {}

  static async start(): Promise<ReplicatedCluster> {
    const missing = replicaToolsMissing();
    if (missing) throw new Error(missing);
    const dir = mkdtempSync(path.join(tmpdir(), 'nestjs-dbos-replica-'));
    chmodSync(dir, 0o755);
    if (isRoot()) chownSync(dir, ...postgresIds());
    const cluster = new ReplicatedCluster(dir, await freePort(), await freePort());
    try {
      await cluster.createPrimary();
      await cluster.createStandby();
      return cluster;
    } catch (err) {
      const logs = cluster.serverLogs();
      await cluster.stop();
      throw new Error(`Could not start the replicated cluster: ${(err as Error).message}${logs}`, { cause: err });
    }
  }

  primaryUrl(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.primaryPort}/${database}`;
  }

  standbyUrl(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.standbyPort}/${database}`;
  }

  /** Creates a database on the primary and waits until the standby has it too. */
  async createDatabase(name: string): Promise<void> {
    await sqlAt(this.primaryUrl(), `CREATE DATABASE "${name}"`);
    await this.waitCaughtUp();
  }

  /** The standby stops applying WAL (it keeps receiving it): what commits on the primary from now on is invisible there. */
  async pauseReplay(): Promise<void> {
    await sqlAt(this.standbyUrl(), 'SELECT pg_wal_replay_pause()');
    await waitFor(async () => (await sqlAt<{ state: string }>(this.standbyUrl(), 'SELECT pg_get_wal_replay_pause_state() AS state'))[0].state === 'paused', {
      what: 'standby replay paused',
    });
  }

  async resumeReplay(): Promise<void> {
    await sqlAt(this.standbyUrl(), 'SELECT pg_wal_replay_resume()');
  }

  /** How far the standby is behind the primary now. */
  async lag(): Promise<ReplicaLag> {
    const [standby] = await sqlAt<{ lsn: string; paused: boolean; at: Date | null }>(
      this.standbyUrl(),
      `SELECT pg_last_wal_replay_lsn()::text AS lsn, pg_is_wal_replay_paused() AS paused, pg_last_xact_replay_timestamp() AS at`,
    );
    const [primary] = await sqlAt<{ lsn: string; bytes: string }>(
      this.primaryUrl(),
      `SELECT pg_current_wal_insert_lsn()::text AS lsn, pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::bigint::text AS bytes`,
      [standby.lsn],
    );
    return { bytes: Number(primary.bytes), replayPaused: standby.paused, lastReplayAt: standby.at, primaryLsn: primary.lsn, replayLsn: standby.lsn };
  }

  /** Waits until the standby has replayed everything the primary had written when this was called. */
  async waitCaughtUp(timeoutMs = 20_000): Promise<void> {
    const [{ lsn }] = await sqlAt<{ lsn: string }>(this.primaryUrl(), 'SELECT pg_current_wal_insert_lsn()::text AS lsn');
    await waitFor(
      async () => {
        const [row] = await sqlAt<{ done: boolean }>(this.standbyUrl(), `SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done`, [lsn]);
        return row.done;
      },
      { what: `standby replayed up to ${lsn}`, timeoutMs, intervalMs: 20 },
    );
  }

  async stopStandby(): Promise<void> {
    await this.pgCtl(this.standbyDir, 'stop', '-m', 'fast');
    this.standbyRunning = false;
  }

  async startStandby(): Promise<void> {
    await this.pgCtl(this.standbyDir, 'start', '-l', path.join(this.dir, 'standby.log'));
    this.standbyRunning = true;
  }

  /** Makes the standby a primary of its own (it leaves recovery): for failover tests. */
  async promoteStandby(): Promise<void> {
    await this.pgCtl(this.standbyDir, 'promote');
  }

  async stop(): Promise<void> {
    if (this.standbyRunning && existsSync(path.join(this.standbyDir, 'postmaster.pid'))) {
      await this.pgCtl(this.standbyDir, 'stop', '-m', 'immediate').catch(() => undefined);
    }
    if (existsSync(path.join(this.primaryDir, 'postmaster.pid'))) await this.pgCtl(this.primaryDir, 'stop', '-m', 'immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The end of each server's log, for a failure message. */
  private serverLogs(): string {
    return ['primary.log', 'standby.log']
      .map((name) => path.join(this.dir, name))
      .filter((file) => existsSync(file))
      .map((file) => `\n--- ${path.basename(file)} ---\n${readFileSync(file, 'utf8').split('\n').slice(-15).join('\n')}`)
      .join('');
  }

  private get primaryDir(): string {
    return path.join(this.dir, 'primary');
  }

  private get standbyDir(): string {
    return path.join(this.dir, 'standby');
  }

  private async createPrimary(): Promise<void> {
    await asPostgres(path.join(PG_BIN, 'initdb'), ['-D', this.primaryDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    appendFileSync(
      path.join(this.primaryDir, 'postgresql.conf'),
      [
        `port = ${this.primaryPort}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${this.dir}'`,
        `wal_level = replica`,
        `max_wal_senders = 5`,
        `hot_standby = on`,
        `fsync = off`,
        `full_page_writes = off`,
        `shared_buffers = 32MB`,
        `max_connections = 60`,
        '',
      ].join('\n'),
    );
    appendFileSync(path.join(this.primaryDir, 'pg_hba.conf'), 'host replication postgres 127.0.0.1/32 trust\n');
    await this.pgCtl(this.primaryDir, 'start', '-l', path.join(this.dir, 'primary.log'));
  }

  private async createStandby(): Promise<void> {
    await asPostgres(path.join(PG_BIN, 'pg_basebackup'), [
      '-h',
      '127.0.0.1',
      '-p',
      String(this.primaryPort),
      '-U',
      'postgres',
      '-D',
      this.standbyDir,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
      '--no-sync',
    ]);
    appendFileSync(path.join(this.standbyDir, 'postgresql.conf'), `port = ${this.standbyPort}\n`);
    await this.startStandby();
  }

  private async pgCtl(dataDir: string, ...args: string[]): Promise<void> {
    await asPostgres(path.join(PG_BIN, 'pg_ctl'), ['-D', dataDir, '-w', '-t', '60', ...args]);
  }
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function postgresIds(): [number, number] {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return [uid, gid];
}

/** Postgres refuses to run as root: as root, the tools run as the `postgres` OS user. */
async function asPostgres(program: string, args: string[]): Promise<void> {
  const [file, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
  await run(file, argv, { cwd: tmpdir(), timeout: 90_000 });
}
