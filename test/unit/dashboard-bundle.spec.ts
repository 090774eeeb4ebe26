import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The dashboard's page is built from lib/dashboard/ui/ (`npm run build:dashboard`) into
 * lib/dashboard/assets/, which is committed (the module serves it from there when run from source).
 * Rebuilding into a temporary folder must give the committed files byte for byte: a source changed
 * without its bundle, or a bundle edited by hand, fails here.
 */
const { buildDashboard } = require('../../scripts/build-dashboard.js') as {
  buildDashboard(outDir: string): Promise<{ name: string; bytes: number }[]>;
};
const committed = path.join(__dirname, '..', '..', 'lib', 'dashboard', 'assets');

describe("the dashboard's committed bundle", () => {
  let fresh: string;
  beforeAll(async () => {
    fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-bundle-'));
    await buildDashboard(fresh);
  }, 60_000);
  afterAll(() => fs.rmSync(fresh, { recursive: true, force: true }));

  it('is what the sources build today (run `npm run build:dashboard` and commit lib/dashboard/assets/ if not)', () => {
    expect(fs.readdirSync(committed).sort()).toEqual(fs.readdirSync(fresh).sort());
    for (const name of fs.readdirSync(fresh)) {
      const same = fs.readFileSync(path.join(committed, name)).equals(fs.readFileSync(path.join(fresh, name)));
      expect({ name, same }).toEqual({ name, same: true });
    }
  });

  it('is one script and one stylesheet that load nothing from elsewhere', () => {
    expect(fs.readdirSync(committed).sort()).toEqual(['app.css', 'app.js', 'index.html']);
    const html = fs.readFileSync(path.join(committed, 'index.html'), 'utf8');
    expect(html.match(/(?:src|href)="[^"]*"/g)).toEqual(['href="__BASE_HREF__"', 'href="data:,"', 'href="assets/app.css"', 'src="assets/app.js"']);
    const script = fs.readFileSync(path.join(committed, 'app.js'), 'utf8');
    expect(script).not.toMatch(/\bimport\s*\(|\bfrom\s*["']https?:/);
  });
});
