#!/usr/bin/env node
// The published package.json carries none of this repository's scripts (build, bench, chaos, ...):
// `prepack` saves package.json and writes it without `scripts`; `postpack` puts the saved one back.
// A pack that died between the two leaves the saved copy, which the next `prepack` restores first.
//
//   node scripts/publish-manifest.js strip|restore
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package.json');
const saved = path.join(__dirname, '..', '.package.json.packing');

function restore() {
  if (!fs.existsSync(saved)) return;
  fs.copyFileSync(saved, file);
  fs.rmSync(saved);
}

function strip() {
  restore();
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(saved, text);
  const published = JSON.parse(text);
  delete published.scripts;
  fs.writeFileSync(file, `${JSON.stringify(published, null, 2)}\n`);
}

const mode = process.argv[2];
if (mode === 'strip') strip();
else if (mode === 'restore') restore();
else {
  console.error('usage: node scripts/publish-manifest.js strip|restore');
  process.exit(2);
}
