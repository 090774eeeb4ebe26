import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../support/child-app';

/** Every ```ts block of docs/schedules.md is a module of its own, type-checked against the package as pasted. */
describe('the examples of docs/schedules.md', () => {
  it('type-check', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'schedules.md'), 'utf8');
    const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)\n```/g)].map((m) => m[1]);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const dir = path.join(REPO_ROOT, '.dbos', 'doc-examples', 'schedules');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    blocks.forEach((block, i) => writeFileSync(path.join(dir, `example-${i + 1}.ts`), block));
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: '../../../tsconfig.json', compilerOptions: { noEmit: true, rootDir: '../../..' }, include: ['*.ts'], exclude: [] }),
    );
    let errors = '';
    try {
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(dir, 'tsconfig.json')], { stdio: 'pipe' });
    } catch (err) {
      errors = String((err as { stdout?: Buffer }).stdout);
    }
    expect(errors).toBe('');
  }, 120_000);
});
