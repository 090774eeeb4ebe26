import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { DbosConfigurationError } from '../lib';
import { assertReachableByOthers } from '../lib/system-database/embedded-postgres';
import { ChildApp } from './support/child-app';

describe('no database configured', () => {
  it('starts an embedded Postgres, warns that it is for development only, runs workflows, and stops it at shutdown', async () => {
    const app = ChildApp.start('embedded-app.ts', { DATABASE_URL: '', EMBEDDED_DIR: '.dbos/embedded-test-pgdata', EMBEDDED_PORT: '54333' });
    await app.waitForOutput(/RESULT /, 120_000);
    expect(await app.waitForExit()).toBe(0);
    const { result, health } = JSON.parse(/RESULT (.*)/.exec(app.log)![1]) as { result: string; health: unknown };
    expect(result).toBe('hello NEST');
    expect(health).toEqual({ workflows: { status: 'up', database: 'up', listener: 'up', recovery: 'done' } });
    expect(app.log).toMatch(/EMBEDDED Postgres under \.dbos\/ for DEVELOPMENT ONLY/);
    const probe = new Client({ connectionString: 'postgres://postgres:postgres@127.0.0.1:54333/postgres', connectionTimeoutMillis: 2_000 });
    await expect(probe.connect()).rejects.toThrow(); // the module stopped the server it started
    await probe.end().catch(() => undefined);
  }, 150_000);
});

describe('embedded Postgres started by root', () => {
  it('refuses, with what to do, a data directory the postgres user could not reach', () => {
    const privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbos-private-'));
    try {
      fs.chmodSync(privateDir, 0o700);
      expect(() => assertReachableByOthers(path.join(privateDir, 'project', '.dbos', 'pgdata'))).toThrow(DbosConfigurationError);
      expect(() => assertReachableByOthers(path.join(privateDir, 'project', '.dbos', 'pgdata'))).toThrow(`chmod o+x ${privateDir}`);
      fs.chmodSync(privateDir, 0o711);
      expect(() => assertReachableByOthers(path.join(privateDir, 'project', '.dbos', 'pgdata'))).not.toThrow();
    } finally {
      fs.rmSync(privateDir, { recursive: true, force: true });
    }
  });
});
