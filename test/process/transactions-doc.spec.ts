import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ChildApp, REPO_ROOT } from '../support/child-app';
import { sql } from '../support/database';
import { prismaGenerate } from '../support/orms';

/**
 * docs/transactions.md's examples run as pasted: each ORM's `src/main.ts` (and Prisma's
 * `prisma/schema.prisma`) is taken from its section into a project directory of its own under
 * .dbos/, type-checked with tsc, and run on the test database: it prints the reservation's id.
 */
const DOC = readFileSync(path.join(REPO_ROOT, 'docs', 'transactions.md'), 'utf8');
const EXAMPLES = path.join(REPO_ROOT, '.dbos', 'doc-examples');
const SECTIONS = ['Knex', 'Drizzle', 'MikroORM', 'Prisma'];

function block(section: string, language: string): string | undefined {
  const body = DOC.split(/^## /m).find((s) => s.startsWith(`${section}\n`));
  if (!body) throw new Error(`docs/transactions.md has no "## ${section}" section`);
  return body.match(new RegExp('```' + language + '\\n([\\s\\S]*?)\\n```'))?.[1];
}

describe('the @Transaction examples of docs/transactions.md', () => {
  beforeAll(() => {
    rmSync(EXAMPLES, { recursive: true, force: true });
    for (const section of SECTIONS) {
      const dir = path.join(EXAMPLES, section.toLowerCase());
      mkdirSync(path.join(dir, 'src'), { recursive: true });
      writeFileSync(path.join(dir, 'src', 'main.ts'), block(section, 'ts')!);
      const schema = block(section, 'prisma');
      if (schema) {
        mkdirSync(path.join(dir, 'prisma'));
        writeFileSync(path.join(dir, 'prisma', 'schema.prisma'), schema);
        prismaGenerate(path.join(dir, 'prisma', 'schema.prisma'));
      }
    }
    writeFileSync(
      path.join(EXAMPLES, 'tsconfig.json'),
      JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true, rootDir: '../..' }, include: ['*/src/main.ts'], exclude: [] }),
    );
  });
  afterAll(async () => {
    await sql('DROP TABLE IF EXISTS reservations');
  });

  it('type-check', () => {
    const tsc = require.resolve('typescript/bin/tsc');
    const errors = (() => {
      try {
        execFileSync(process.execPath, [tsc, '-p', path.join(EXAMPLES, 'tsconfig.json')], { stdio: 'pipe' });
        return '';
      } catch (err) {
        return String((err as { stdout?: Buffer }).stdout);
      }
    })();
    expect(errors).toBe('');
  }, 120_000);

  it.each(SECTIONS)(
    '%s: runs and prints the reservation',
    async (section) => {
      const child = ChildApp.run(path.join(EXAMPLES, section.toLowerCase(), 'src', 'main.ts'));
      const code = await child.waitForExit();
      expect({ code, log: child.log }).toMatchObject({ code: 0, log: expect.stringMatching(/reservation \d+/) });
    },
    60_000,
  );
});
