#!/usr/bin/env node
// Builds the dashboard's page from lib/dashboard/ui/ (Preact components, uPlot, CSS) into one
// minified script and one stylesheet beside its index.html, in lib/dashboard/assets/ (committed, and
// served from there when the module runs from source; `npm run build` copies it into dist/).
//
//   node scripts/build-dashboard.js [outDir]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..', 'lib', 'dashboard');

/** Builds into `outDir` (emptied first); resolves with each file's name and size. */
async function buildDashboard(outDir = path.join(root, 'assets')) {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: { app: path.join(root, 'ui', 'main.jsx') },
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    // The libraries' licence comments stay, gathered at the end of each file.
    legalComments: 'eof',
    charset: 'utf8',
    logLevel: 'warning',
  });
  fs.copyFileSync(path.join(root, 'ui', 'index.html'), path.join(outDir, 'index.html'));
  return fs.readdirSync(outDir).map((name) => ({ name, bytes: fs.statSync(path.join(outDir, name)).size }));
}

module.exports = { buildDashboard };

if (require.main === module) {
  buildDashboard(process.argv[2] && path.resolve(process.argv[2])).then(
    (files) => {
      const zlib = require('node:zlib');
      for (const { name, bytes } of files) {
        const gz = zlib.gzipSync(fs.readFileSync(path.join(process.argv[2] ? path.resolve(process.argv[2]) : path.join(root, 'assets'), name))).length;
        console.log(`${name.padEnd(12)} ${String(bytes).padStart(7)} B  ${String(gz).padStart(6)} B gzipped`);
      }
    },
    (err) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
