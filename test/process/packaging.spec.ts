import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * What `npm pack` ships: built from this checkout (`npm run build`, then `npm pack --dry-run`), so
 * the list is the one a publish would upload.
 */
const root = path.join(__dirname, '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface PackedFile {
  path: string;
}

describe('the packed package', () => {
  let files: string[];
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    main: string;
    types: string;
    bin: Record<string, string>;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };

  beforeAll(() => {
    execFileSync(npm, ['run', 'build'], { cwd: root, stdio: 'pipe' });
    const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    files = (JSON.parse(out) as { files: PackedFile[] }[])[0].files.map((f) => f.path).sort();
  }, 120_000);

  it('holds the entry points, the types, the CLI and the migrations', () => {
    for (const entry of [pkg.main, pkg.types, ...Object.values(pkg.bin)]) {
      expect(files).toContain(path.normalize(entry));
    }
    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
    expect(files.some((f) => /^dist\/migrations\/.+\.js$/.test(f))).toBe(true);
  });

  it("ships the Jest preset (preset: 'nestjs-dbos'), whose transformer for Nest 12's ES modules is a packed file", () => {
    expect(files).toContain('jest-preset.js');
    const preset = require(path.join(root, 'jest-preset.js')) as { transform: Record<string, string>; transformIgnorePatterns: string[] };
    const transformer = preset.transform['/node_modules/@nestjs/.+\\.js$'];
    expect(files).toContain(path.relative(root, transformer));
    expect(preset.transformIgnorePatterns).toEqual(['/node_modules/(?!@nestjs/)']);
  });

  it("publishes a package.json without the repository's scripts, and leaves the working one as it was", () => {
    const before = fs.readFileSync(path.join(root, 'package.json'), 'utf8');
    const destination = fs.mkdtempSync(path.join(os.tmpdir(), 'nestjs-dbos-pack-'));
    try {
      // With its lifecycle scripts (prepack, postpack), as `npm publish` packs.
      const out = execFileSync(npm, ['pack', '--json', '--pack-destination', destination], { cwd: root, encoding: 'utf8' });
      const tarball = path.join(destination, (JSON.parse(out.slice(out.indexOf('['))) as { filename: string }[])[0].filename);
      const published = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as Record<string, unknown>;
      expect(published.scripts).toBeUndefined();
      expect(published).toMatchObject({ name: 'nestjs-dbos', main: pkg.main, types: pkg.types, bin: pkg.bin, peerDependencies: pkg.peerDependencies });
      expect(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).toBe(before);
      expect(fs.existsSync(path.join(root, '.package.json.packing'))).toBe(false);
    } finally {
      fs.rmSync(destination, { recursive: true, force: true });
    }
  }, 120_000);

  it('ships no tests, sample app, scripts or build leftovers', () => {
    const shipped = ['package.json', 'README.md', 'LICENSE', 'jest-preset.js', 'jest/esm-packages.transformer.js'];
    const unwanted = files.filter((f) => !/^dist\/(lib|migrations)\//.test(f) && !shipped.includes(f));
    expect(unwanted).toEqual([]);
    expect(files.filter((f) => /\.spec\.|tsbuildinfo|\/test\//.test(f))).toEqual([]);
  });

  it("ships the dashboard's built page, not its sources, and none of the libraries it is built with as a dependency", () => {
    const page = files.filter((f) => f.startsWith(path.normalize('dist/lib/dashboard/assets/')));
    expect(page.map((f) => path.basename(f)).sort()).toEqual(['app.css', 'app.js', 'index.html']);
    expect(files.filter((f) => f.startsWith(path.normalize('dist/lib/dashboard/ui/')) || /\.jsx$/.test(f))).toEqual([]);
    for (const name of ['preact', 'uplot', 'esbuild']) expect(Object.keys(pkg.dependencies ?? {})).not.toContain(name);
  });

  it('has source maps whose sources ship: every source is either a packed file or inlined', () => {
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const dangling: string[] = [];
    for (const map of maps) {
      const parsed = JSON.parse(fs.readFileSync(path.join(root, map), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      parsed.sources.forEach((source, i) => {
        const shipped = files.includes(path.normalize(path.join(path.dirname(map), source)));
        const inlined = typeof parsed.sourcesContent?.[i] === 'string';
        if (!shipped && !inlined) dangling.push(`${map} -> ${source}`);
      });
    }
    expect(dangling).toEqual([]);
  });

  it("brings the types its declarations import: each package is a dependency or peer, typed itself or by a dependency's @types", () => {
    const declared = { ...pkg.dependencies, ...pkg.peerDependencies };
    const imported = new Set<string>();
    for (const file of files.filter((f) => f.endsWith('.d.ts'))) {
      const text = fs.readFileSync(path.join(root, file), 'utf8');
      for (const [, specifier] of text.matchAll(/(?:from|import\()\s*['"]([^'".][^'"]*)['"]/g)) {
        if (specifier.startsWith('node:')) continue;
        imported.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
      }
    }
    expect(imported.size).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const name of imported) {
      if (!(name in declared)) {
        missing.push(`${name}: neither a dependency nor a peer dependency`);
        continue;
      }
      const dir = path.join(root, 'node_modules', name);
      const own = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { types?: string; typings?: string; exports?: unknown };
      const typesItself =
        Boolean(own.types ?? own.typings) || JSON.stringify(own.exports ?? '').includes('.d.ts') || fs.existsSync(path.join(dir, 'index.d.ts'));
      const typesPackage = `@types/${name.replace(/^@/, '').replace('/', '__')}`;
      if (!typesItself && !pkg.dependencies?.[typesPackage]) missing.push(`${name}: ships no types and ${typesPackage} is not a dependency`);
    }
    expect(missing).toEqual([]);
  });
});
