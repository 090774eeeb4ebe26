/**
 * A real highly available Postgres for a test: one etcd, two Patroni nodes (Debian's `patroni`,
 * Postgres 15 binaries) with synchronous replication (`synchronous_mode: true`), and HAProxy in
 * front routing to whichever node answers Patroni's `/primary` health check. Everything lives in a
 * temporary directory on free local ports, is started by `start()` and removed by `stop()`.
 *
 *   const cluster = await HaCluster.start();
 *   cluster.url();                  // the HAProxy endpoint (user `app`, database `app`)
 *   await cluster.killLeaderHard(); // kill -9 of the leader's Patroni and postmaster (a lost node)
 *   await cluster.waitForLeader({ not: 'pg1' });
 *   await cluster.stop();
 *
 * Postgres refuses to run as root: as root, Patroni (and so Postgres) runs as the `postgres` user.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { freePort } from './ports';
import { waitFor } from './wait';

export const HA_TOOLS = {
  patroni: '/usr/bin/patroni',
  patronictl: '/usr/bin/patronictl',
  etcd: '/usr/bin/etcd',
  haproxy: '/usr/sbin/haproxy',
  postgres: '/usr/lib/postgresql/15/bin/postgres',
};

/** The Debian packages the cluster needs. */
export const HA_PACKAGES = 'patroni etcd-server haproxy python3-etcd postgresql-15';

/** Set to a reason when the environment cannot run the cluster: the HA tests are then skipped, saying why. */
export const HA_UNAVAILABLE_ENV = 'DBOS_HA_UNAVAILABLE';

/** What is missing to run the cluster here (with what to install), or undefined when all is there. */
export function haToolsMissing(): string | undefined {
  const missing = Object.values(HA_TOOLS).filter((file) => !existsSync(file));
  const python = missing.length === 0 ? pythonEtcdMissing() : undefined;
  if (missing.length === 0 && !python) return undefined;
  return `the HA failover test needs ${[...missing, ...(python ? [python] : [])].join(', ')}: apt-get install -y ${HA_PACKAGES}`;
}

function pythonEtcdMissing(): string | undefined {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import etcd'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return "Patroni's etcd client (python3 module etcd)";
  }
}

const SUPERUSER = { username: 'postgres', password: 'ha-superuser' };
const REPLICATION = { username: 'replicator', password: 'ha-replicator' };
/** The login the app uses; its password can be changed by `setAppPassword`. */
export const APP_LOGIN = { user: 'app', password: 'app-password', database: 'app' };
/** Leader key TTL (s): a lost leader is replaced this long after its last renewal (plus a loop). */
const TTL_S = 10;

interface Node {
  name: string;
  pgPort: number;
  restPort: number;
  dataDir: string;
  configFile: string;
  patroni?: ChildProcess;
  log: string;
}

export interface ClusterMember {
  name: string;
  role: string;
  state: string;
  timeline?: number;
}

export class HaCluster {
  private etcd?: ChildProcess;
  private haproxy?: ChildProcess;
  private readonly logs: Record<string, string> = {};
  private stopped = false;
  private removeExitHook = () => undefined as void;

  private constructor(
    readonly dir: string,
    private readonly nodes: Node[],
    private readonly etcdPort: number,
    readonly port: number,
    private readonly scope: string,
  ) {}

  /** Starts etcd, two Patroni nodes and HAProxy; resolves once a leader and a synchronous standby serve. */
  static async start(): Promise<HaCluster> {
    const missing = haToolsMissing();
    if (missing) throw new Error(missing);
    const dir = mkdtempSync(path.join(tmpdir(), 'nestjs-dbos-ha-'));
    chmodSync(dir, 0o755);
    const [etcdPort, etcdPeerPort, haproxyPort] = [await freePort(), await freePort(), await freePort()];
    const nodes: Node[] = [];
    for (const name of ['pg1', 'pg2']) {
      const nodeDir = path.join(dir, name);
      mkdirSync(nodeDir, { mode: 0o700 });
      nodes.push({
        name,
        pgPort: await freePort(),
        restPort: await freePort(),
        dataDir: path.join(nodeDir, 'data'),
        configFile: path.join(nodeDir, 'patroni.yml'),
        log: '',
      });
    }
    const cluster = new HaCluster(dir, nodes, etcdPort, haproxyPort, `ha-${path.basename(dir).slice(-6)}`);
    // A test runner that exits without afterAll (a crash, a timeout) leaves no cluster behind.
    const killOnExit = () => cluster.killNow();
    process.once('exit', killOnExit);
    cluster.removeExitHook = () => process.off('exit', killOnExit);
    try {
      cluster.startEtcd(etcdPeerPort);
      await waitFor(() => cluster.httpOk(`http://127.0.0.1:${etcdPort}/health`), { what: 'etcd answering', timeoutMs: 20_000, intervalMs: 100 });
      for (const node of nodes) cluster.writePatroniConfig(node);
      cluster.startPatroni(nodes[0]);
      await waitFor(() => cluster.httpOk(`http://127.0.0.1:${nodes[0].restPort}/primary`), {
        what: 'pg1 bootstrapped as leader',
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      cluster.startPatroni(nodes[1]);
      cluster.startHaproxy();
      await cluster.waitForSyncStandby();
      await cluster.createAppLogin();
      return cluster;
    } catch (err) {
      const logs = cluster.allLogs();
      await cluster.stop();
      throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
    }
  }

  /** The HAProxy endpoint: always the current leader (once HAProxy's check has seen it). */
  url(login: { user: string; password: string } = APP_LOGIN): string {
    return `postgres://${login.user}:${encodeURIComponent(login.password)}@127.0.0.1:${this.port}/${APP_LOGIN.database}`;
  }

  /** A node directly (bypassing HAProxy), as the superuser unless told otherwise. */
  nodeUrl(
    name: string,
    login: { user: string; password: string } = { user: SUPERUSER.username, password: SUPERUSER.password },
    database = APP_LOGIN.database,
  ): string {
    return `postgres://${login.user}:${encodeURIComponent(login.password)}@127.0.0.1:${this.node(name).pgPort}/${database}`;
  }

  /** The members as Patroni's REST API reports them (role `leader`, `sync_standby`, `replica`). */
  async members(): Promise<ClusterMember[]> {
    for (const node of this.nodes) {
      if (!node.patroni) continue;
      const body = await this.httpJson<{ members?: ClusterMember[] }>(`http://127.0.0.1:${node.restPort}/cluster`);
      if (body?.members) return body.members;
    }
    return [];
  }

  async leader(): Promise<string | undefined> {
    return (await this.members()).find((m) => m.role === 'leader' && m.state === 'running')?.name;
  }

  /** Resolves with the leader's name once a running leader (other than `not`) serves writes through HAProxy. */
  async waitForLeader(options: { not?: string; timeoutMs?: number } = {}): Promise<string> {
    let leader: string | undefined;
    await waitFor(
      async () => {
        leader = await this.leader();
        return leader !== undefined && leader !== options.not && (await this.httpOk(`http://127.0.0.1:${this.node(leader).restPort}/primary`));
      },
      { what: `a leader${options.not ? ` other than ${options.not}` : ''}`, timeoutMs: options.timeoutMs ?? 90_000, intervalMs: 200 },
    );
    return leader!;
  }

  /** Resolves once one member is the leader and the other its synchronous standby, streaming. */
  async waitForSyncStandby(timeoutMs = 90_000): Promise<void> {
    await waitFor(
      async () => {
        const members = await this.members();
        return members.some((m) => m.role === 'leader' && m.state === 'running') && members.some((m) => m.role === 'sync_standby' && m.state === 'running');
      },
      { what: 'a leader with a synchronous standby', timeoutMs, intervalMs: 250 },
    );
  }

  /**
   * A lost node: kill -9 of the leader's Patroni, then of its postmaster (its backends exit when
   * they notice). The leader key expires after the TTL and the synchronous standby is promoted.
   */
  async killLeaderHard(): Promise<{ name: string; killedAt: number }> {
    const name = await this.waitForLeader();
    const node = this.node(name);
    const postmaster = this.postmasterPid(node);
    node.patroni?.kill('SIGKILL');
    if (postmaster) process.kill(postmaster, 'SIGKILL');
    const killedAt = Date.now();
    await new Promise<void>((resolve) =>
      node.patroni && node.patroni.exitCode === null && node.patroni.signalCode === null ? node.patroni.once('exit', () => resolve()) : resolve(),
    );
    node.patroni = undefined;
    return { name, killedAt };
  }

  /** Starts a node's Patroni again (after `killLeaderHard`): it rejoins as a replica (pg_rewind when needed). */
  restartNode(name: string): void {
    const node = this.node(name);
    const postmaster = this.postmasterPid(node);
    if (postmaster) {
      try {
        process.kill(postmaster, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.startPatroni(node);
  }

  /** A planned switchover with `patronictl` to the synchronous standby. */
  async switchover(): Promise<{ from: string; to: string; startedAt: number }> {
    const members = await this.members();
    const from = members.find((m) => m.role === 'leader')?.name;
    const to = members.find((m) => m.role === 'sync_standby')?.name;
    if (!from || !to) throw new Error(`no leader and synchronous standby to switch over: ${JSON.stringify(members)}`);
    const startedAt = Date.now();
    execFileSync(HA_TOOLS.patronictl, ['-c', this.node(from).configFile, 'switchover', '--leader', from, '--candidate', to, '--force', this.scope], {
      stdio: 'pipe',
      env: { ...process.env, HOME: this.dir },
    });
    return { from, to, startedAt };
  }

  /** Connections HAProxy has accepted on the endpoint so far (its frontend's `stot`): every connection attempt of its clients. */
  async connectionsAccepted(): Promise<number> {
    const csv = await new Promise<string>((resolve, reject) => {
      let out = '';
      const socket = connect(this.statsSocket, () => socket.end('show stat\n'));
      socket.on('data', (chunk: Buffer) => (out += chunk.toString()));
      socket.on('end', () => resolve(out));
      socket.on('error', reject);
    });
    const frontend = csv.split('\n').find((line) => line.startsWith('postgres,FRONTEND,'));
    if (!frontend) throw new Error(`no frontend in HAProxy's stats:\n${csv}`);
    return Number(frontend.split(',')[7]);
  }

  /** Changes the app's password on the cluster (through the leader); the old one is refused from then on. */
  async setAppPassword(password: string): Promise<void> {
    const leader = await this.waitForLeader();
    await this.superSql(leader, `ALTER ROLE ${APP_LOGIN.user} PASSWORD '${password.replace(/'/g, "''")}'`, 'postgres');
  }

  /** Ends the app's sessions on the leader (after a password change, what a pool's idle timeout does in time). */
  async terminateAppSessions(): Promise<void> {
    const leader = await this.waitForLeader();
    await this.superSql(leader, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${APP_LOGIN.user}'`, 'postgres');
  }

  /** One statement as the superuser on a node (directly). */
  async superSql<R = Record<string, unknown>>(name: string, text: string, database = APP_LOGIN.database): Promise<R[]> {
    const client = new Client({ connectionString: this.nodeUrl(name, undefined, database), connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      return (await client.query(text)).rows as R[];
    } finally {
      await client.end();
    }
  }

  /** Everything the processes printed, for a failure message. */
  allLogs(): string {
    const parts = Object.entries(this.logs).map(([name, log]) => `--- ${name} ---\n${log.slice(-4_000)}`);
    for (const node of this.nodes) parts.push(`--- patroni ${node.name} ---\n${node.log.slice(-6_000)}`);
    return parts.join('\n');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.removeExitHook();
    this.killNow();
    await Promise.all([...this.nodes.map((n) => n.patroni), this.haproxy, this.etcd].map(exited));
    // Backends exit once they notice their postmaster is gone; the files can go at once.
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** SIGKILLs every process of the cluster (synchronous: also from an exit handler). */
  private killNow(): void {
    for (const node of this.nodes) {
      const postmaster = this.postmasterPid(node);
      node.patroni?.kill('SIGKILL');
      if (postmaster) {
        try {
          process.kill(postmaster, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    this.haproxy?.kill('SIGKILL');
    this.etcd?.kill('SIGKILL');
  }

  private get statsSocket(): string {
    return path.join(this.dir, 'haproxy.sock');
  }

  private node(name: string): Node {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  private postmasterPid(node: Node): number | undefined {
    const file = path.join(node.dataDir, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    // Only while that pid is still this node's postmaster (a stale file's pid may be another process by now).
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(node.dataDir) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private startEtcd(peerPort: number): void {
    const dataDir = path.join(this.dir, 'etcd');
    const client = `http://127.0.0.1:${this.etcdPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    this.etcd = this.spawnLogged('etcd', HA_TOOLS.etcd, [
      '--name=e1',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=e1=${peer}`,
      '--enable-v2=true',
    ]);
  }

  private writePatroniConfig(node: Node): void {
    const config = {
      scope: this.scope,
      namespace: '/nestjs-dbos-test/',
      name: node.name,
      log: { level: 'INFO' },
      restapi: { listen: `127.0.0.1:${node.restPort}`, connect_address: `127.0.0.1:${node.restPort}` },
      etcd3: { host: `127.0.0.1:${this.etcdPort}` },
      bootstrap: {
        dcs: {
          ttl: TTL_S,
          loop_wait: 1,
          retry_timeout: 4,
          maximum_lag_on_failover: 1_048_576,
          synchronous_mode: true,
          postgresql: {
            use_pg_rewind: true,
            parameters: { wal_log_hints: 'on', max_connections: 200, hot_standby: 'on', wal_keep_size: '128MB' },
          },
        },
        initdb: [{ encoding: 'UTF8' }, { locale: 'C' }],
      },
      postgresql: {
        listen: `127.0.0.1:${node.pgPort}`,
        connect_address: `127.0.0.1:${node.pgPort}`,
        data_dir: node.dataDir,
        bin_dir: path.dirname(HA_TOOLS.postgres),
        pgpass: path.join(path.dirname(node.dataDir), 'pgpass'),
        authentication: { superuser: SUPERUSER, replication: REPLICATION, rewind: SUPERUSER },
        parameters: { unix_socket_directories: path.dirname(node.dataDir), shared_buffers: '32MB' },
        pg_hba: ['local all all trust', `host replication ${REPLICATION.username} 127.0.0.1/32 scram-sha-256`, 'host all all 127.0.0.1/32 scram-sha-256'],
      },
      tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
    };
    // YAML is a superset of JSON.
    writeFileSync(node.configFile, JSON.stringify(config, null, 2));
    this.chownToPostgres(path.dirname(node.configFile));
    this.chownToPostgres(node.configFile);
  }

  private startPatroni(node: Node): void {
    node.patroni = this.spawnLogged(`patroni ${node.name}`, HA_TOOLS.patroni, [node.configFile], { asPostgres: true, onOutput: (text) => (node.log += text) });
  }

  private startHaproxy(): void {
    const config = [
      'global',
      '  maxconn 500',
      `  stats socket ${this.statsSocket} mode 600 level admin`,
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 30m',
      '  timeout server 30m',
      '  timeout check 1s',
      'listen postgres',
      `  bind 127.0.0.1:${this.port}`,
      '  option httpchk OPTIONS /primary',
      '  http-check expect status 200',
      '  default-server inter 300ms fall 2 rise 1 on-marked-down shutdown-sessions',
      ...this.nodes.map((n) => `  server ${n.name} 127.0.0.1:${n.pgPort} maxconn 200 check port ${n.restPort}`),
      '',
    ].join('\n');
    const file = path.join(this.dir, 'haproxy.cfg');
    writeFileSync(file, config);
    this.haproxy = this.spawnLogged('haproxy', HA_TOOLS.haproxy, ['-f', file, '-db']);
  }

  private async createAppLogin(): Promise<void> {
    const leader = await this.waitForLeader();
    await this.superSql(leader, `CREATE ROLE ${APP_LOGIN.user} LOGIN PASSWORD '${APP_LOGIN.password}'`, 'postgres');
    await this.superSql(leader, `CREATE DATABASE ${APP_LOGIN.database} OWNER ${APP_LOGIN.user}`, 'postgres');
    // Through HAProxy, once its check has seen the leader.
    await waitFor(
      async () => {
        const client = new Client({ connectionString: this.url(), connectionTimeoutMillis: 2_000 });
        return client.connect().then(
          () => client.end().then(() => true),
          () => false,
        );
      },
      { what: 'the app login through HAProxy', timeoutMs: 20_000, intervalMs: 200 },
    );
  }

  private spawnLogged(label: string, file: string, args: string[], options: { asPostgres?: boolean; onOutput?: (text: string) => void } = {}): ChildProcess {
    const ids = options.asPostgres && process.getuid?.() === 0 ? postgresIds() : undefined;
    const child = spawn(file, args, {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: this.dir, PATH: process.env.PATH },
      ...(ids ?? {}),
    });
    const append = options.onOutput ?? ((text: string) => (this.logs[label] = ((this.logs[label] ?? '') + text).slice(-20_000)));
    child.stdout?.on('data', (chunk: Buffer) => append(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => append(chunk.toString()));
    return child;
  }

  private chownToPostgres(file: string): void {
    const ids = process.getuid?.() === 0 ? postgresIds() : undefined;
    if (ids) chownSync(file, ids.uid, ids.gid);
  }

  private async httpOk(url: string): Promise<boolean> {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  }

  private async httpJson<T>(url: string): Promise<T | undefined> {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      return response.ok ? ((await response.json()) as T) : undefined;
    } catch {
      return undefined;
    }
  }
}

let ids: { uid: number; gid: number } | undefined;
function postgresIds(): { uid: number; gid: number } {
  ids ??= {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  };
  return ids;
}

function exited(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
