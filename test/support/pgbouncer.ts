/**
 * A real PgBouncer (Debian's /usr/sbin/pgbouncer) in front of the test database, for the tests of
 * `database.pooler`: a pgbouncer.ini in a temporary directory, one child process, stopped by `stop()`.
 *
 *   const bouncer = await PgBouncer.start({ poolMode: 'transaction' });
 *   bouncer.url(databaseUrl()); // the same database, through the pooler
 *   await bouncer.stop();
 *
 * Clients are not authenticated (`auth_type = any`); PgBouncer logs in to Postgres with the user
 * and password of DATABASE_URL. As root it runs as `postgres` (`-u`), which it requires.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { freePort } from './ports';

export const PGBOUNCER_BINARY = process.env.PGBOUNCER_BINARY ?? '/usr/sbin/pgbouncer';

/** Why the PgBouncer tests are skipped here, or undefined when they can run. */
export function pgbouncerMissing(): string | undefined {
  return existsSync(PGBOUNCER_BINARY) ? undefined : `no PgBouncer at ${PGBOUNCER_BINARY} (apt-get install pgbouncer; .ci/run installs it)`;
}

export interface PgBouncerOptions {
  /** Default 'transaction'. */
  poolMode?: 'transaction' | 'session';
  /** Startup parameters PgBouncer accepts and drops (`ignore_startup_parameters`). */
  ignoreStartupParameters?: string[];
  /** Server connections per database and user (`default_pool_size`). Default 10. */
  poolSize?: number;
  /** Client connections it accepts (`max_client_conn`). Default 500. */
  maxClientConn?: number;
  /** The database behind it. Default DATABASE_URL. */
  targetUrl?: string;
  /**
   * Run on every new server connection before a client gets it (`connect_query`), e.g. the
   * `SET statement_timeout = ...` a role setting would give (no single quotes in it).
   */
  connectQuery?: string;
}

export class PgBouncer {
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly dir: string,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  static async start(options: PgBouncerOptions = {}): Promise<PgBouncer> {
    const target = new URL(options.targetUrl ?? process.env.DATABASE_URL ?? '');
    if (!target.port && !target.hostname) throw new Error('PgBouncer.start needs DATABASE_URL (or targetUrl)');
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'nestjs-dbos-pgbouncer-'));
    const database = decodeURIComponent(target.pathname.slice(1)) || 'postgres';
    const server = [
      `host=${target.hostname || '127.0.0.1'}`,
      `port=${target.port || 5432}`,
      `dbname=${database}`,
      `user=${decodeURIComponent(target.username || 'postgres')}`,
      ...(target.password ? [`password=${decodeURIComponent(target.password)}`] : []),
      ...(options.connectQuery ? [`connect_query='${options.connectQuery}'`] : []),
    ].join(' ');
    const ini = [
      '[databases]',
      `${database} = ${server}`,
      '',
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      'auth_type = any',
      `pool_mode = ${options.poolMode ?? 'transaction'}`,
      `default_pool_size = ${options.poolSize ?? 10}`,
      `max_client_conn = ${options.maxClientConn ?? 500}`,
      `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
      ...(options.ignoreStartupParameters?.length ? [`ignore_startup_parameters = ${options.ignoreStartupParameters.join(',')}`] : []),
      '',
    ].join('\n');
    writeFileSync(path.join(dir, 'pgbouncer.ini'), ini);
    chmodSync(dir, 0o777); // the postgres user writes its pid file and socket here
    const asUser = process.getuid?.() === 0 ? ['-u', 'postgres'] : [];
    const child = spawn(PGBOUNCER_BINARY, [...asUser, path.join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const bouncer = new PgBouncer(child, port, dir);
    try {
      await bouncer.waitUntilAccepting(database);
    } catch (err) {
      await bouncer.stop(); // not left running when it never accepted (e.g. the server refused its logins)
      throw err;
    }
    return bouncer;
  }

  /** `url` (DATABASE_URL by default) with the host and port of this PgBouncer. */
  url(url = process.env.DATABASE_URL ?? ''): string {
    const through = new URL(url);
    through.hostname = '127.0.0.1';
    through.port = String(this.port);
    return through.toString();
  }

  /** What PgBouncer printed (its log). */
  get log(): string {
    return this.stderr;
  }

  private async waitUntilAccepting(database: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`pgbouncer exited with ${this.child.exitCode}:\n${this.stderr}`);
      const client = new Client({ host: '127.0.0.1', port: this.port, database, user: 'postgres', connectionTimeoutMillis: 1_000 });
      try {
        await client.connect();
        await client.query('SELECT 1');
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`pgbouncer did not accept connections: ${(err as Error).message}\n${this.stderr}`, { cause: err });
        await new Promise((resolve) => setTimeout(resolve, 100));
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }

  /** SIGKILLs it at once, without waiting (for a process 'exit' handler; `stop()` is the clean way). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('close', resolve));
      this.child.kill('SIGINT'); // immediate shutdown
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
