import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { DbosConfigurationError } from '../../lib';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../lib/embedded-postgres/embedded-postgres.server';
import { ChildApp } from '../support/child-app';
import { sqlAt } from '../support/database';
import { freePort } from '../support/ports';

const isRoot = process.getuid?.() === 0;

describe('no database configured', () => {
  it('starts an embedded Postgres, warns that it is for development only, logs where its data lives, runs workflows, and stops it at shutdown', async () => {
    const port = await freePort();
    const app = ChildApp.start('embedded-app.ts', { DATABASE_URL: '', EMBEDDED_DIR: '.dbos/embedded-test-pgdata', EMBEDDED_PORT: String(port) });
    await app.waitForOutput(/RESULT /, 120_000);
    expect(await app.waitForExit()).toBe(0);
    const { result, health } = JSON.parse(/RESULT (.*)/.exec(app.log)![1]) as { result: string; health: unknown };
    expect(result).toBe('hello NEST');
    expect(health).toEqual({ workflows: { status: 'up', database: 'up', listener: 'up', recovery: 'done' } });
    expect(app.log).toMatch(/EMBEDDED Postgres for DEVELOPMENT ONLY/);
    // The log names the data directory: the requested one, or (root, private parent) the module's own.
    const logged = new RegExp(`on 127\\.0\\.0\\.1:${port}; its data lives in ([^\\s\\u001b]+)`).exec(app.log);
    expect(logged).not.toBeNull();
    const dataDir = logged![1];
    expect(fs.existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
    expect(
      dataDir === path.resolve('.dbos/embedded-test-pgdata') || /\/nestjs-dbos\/clusters\/[^/]+-embedded-test-pgdata-[0-9a-f]{12}\/pg\d+$/.test(dataDir),
    ).toBe(true);
    const probe = new Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 2_000 });
    await expect(probe.connect()).rejects.toThrow(); // the module stopped the server it started
    await probe.end().catch(() => undefined);
  }, 150_000);
});

/** A project directory (with `.dbos/pgdata` requested) under a fresh `mktemp -d`-like directory. */
function newProject(mode: number): { root: string; requested: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbos-project-'));
  fs.chmodSync(root, mode);
  return { root, requested: path.join(root, 'app', '.dbos', 'pgdata') };
}

/** Removes a test cluster: the project, and the module's own directory for it when the data went there. */
function removeProject(project: { root: string }, dataDir?: string): void {
  fs.rmSync(project.root, { recursive: true, force: true });
  if (dataDir && !dataDir.startsWith(project.root)) fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
}

describe('embedded Postgres data directory', () => {
  const started: EmbeddedPostgresHandle[] = [];
  afterEach(async () => {
    for (const handle of started.splice(0)) await handle.stop();
  });

  // Root runs the server as the "postgres" user, which cannot enter a 0700 directory of root's.
  (isRoot ? it : it.skip)(
    'as root under a private (0700) directory: runs where the postgres user can reach it, says where in the log, and a restart finds the data again',
    async () => {
      const project = newProject(0o700);
      const messages: string[] = [];
      let dataDir: string | undefined;
      try {
        const port = await freePort();
        const first = await startEmbeddedPostgres({ dir: project.requested, port, log: (m) => messages.push(m) });
        started.push(first);
        dataDir = first.dataDir;
        expect(dataDir.startsWith(project.root)).toBe(false);
        expect(dataDir).toMatch(/\/nestjs-dbos\/clusters\/app-pgdata-[0-9a-f]{12}\/pg\d+$/);
        expect(messages.join('\n')).toContain(`Started the embedded Postgres`);
        expect(messages.join('\n')).toContain(
          `on 127.0.0.1:${port}; its data lives in ${dataDir} (the "postgres" user that runs it cannot reach ${project.requested})`,
        );
        expect(await sqlAt<{ data_directory: string }>(first.url, 'SHOW data_directory')).toEqual([{ data_directory: dataDir }]);
        await sqlAt(first.url, 'CREATE TABLE kept (note text)');
        await sqlAt(first.url, `INSERT INTO kept VALUES ('before the restart')`);
        await started.pop()!.stop();

        const second = await startEmbeddedPostgres({ dir: project.requested, port, log: (m) => messages.push(m) });
        started.push(second);
        expect(second.dataDir).toBe(dataDir);
        expect(await sqlAt(second.url, 'SELECT note FROM kept')).toEqual([{ note: 'before the restart' }]);
      } finally {
        for (const handle of started.splice(0)) await handle.stop();
        removeProject(project, dataDir);
      }
    },
    120_000,
  );

  it('two projects never share a cluster: a port held by another project is refused when requested, and replaced by a free one when it is only the default', async () => {
    const a = newProject(0o755);
    const b = newProject(0o755);
    const dirs: string[] = [];
    try {
      const port = await freePort();
      const first = await startEmbeddedPostgres({ dir: a.requested, port, log: () => undefined });
      started.push(first);
      dirs.push(first.dataDir);

      // Before, a server answering on the port with the same credentials was simply reused.
      const refused = startEmbeddedPostgres({ dir: b.requested, port, log: () => undefined });
      await expect(refused).rejects.toThrow(DbosConfigurationError);
      await expect(refused).rejects.toThrow(
        `Port ${port} for the embedded Postgres of ${b.requested} is taken by the embedded Postgres of another data directory (${first.dataDir})`,
      );

      // Not requested, only the default (54329 in apps, 54330 in tests) taken: a free port, B's own cluster.
      const messages: string[] = [];
      const second = await startEmbeddedPostgres({ dir: b.requested, defaultPort: port, log: (m) => messages.push(m) });
      started.push(second);
      dirs.push(second.dataDir);
      expect(second.url).not.toBe(first.url);
      expect(second.dataDir).not.toBe(first.dataDir);
      expect(await sqlAt<{ data_directory: string }>(second.url, 'SHOW data_directory')).toEqual([{ data_directory: second.dataDir }]);
      expect(messages.join('\n')).toContain(
        `Port ${port} is taken by the embedded Postgres of another data directory (${first.dataDir}); the embedded Postgres of ${b.requested} uses port`,
      );

      // A second process of project A finds A's running server by its data directory, on any port.
      const again = await startEmbeddedPostgres({ dir: a.requested, log: () => undefined });
      expect(again.url).toBe(first.url);
    } finally {
      for (const handle of started.splice(0)) await handle.stop();
      removeProject(a, dirs[0]);
      removeProject(b, dirs[1]);
    }
  }, 120_000);
});
