// The build's second half: the dashboard page's files (plain HTML, CSS and browser modules, no
// build step of their own) go beside the compiled module that serves them.
const fs = require('node:fs');
const path = require('node:path');

const from = path.join(__dirname, '..', 'lib', 'dashboard', 'assets');
const to = path.join(__dirname, '..', 'dist', 'lib', 'dashboard', 'assets');
fs.rmSync(to, { recursive: true, force: true });
fs.mkdirSync(to, { recursive: true });
for (const name of fs.readdirSync(from)) fs.copyFileSync(path.join(from, name), path.join(to, name));
