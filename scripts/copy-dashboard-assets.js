// The build's last step: the dashboard page's built files (lib/dashboard/assets/: index.html, the
// bundled app.js and app.css that `npm run build:dashboard` makes from lib/dashboard/ui/) go beside
// the compiled module that serves them. The sources in lib/dashboard/ui/ are not shipped.
const fs = require('node:fs');
const path = require('node:path');

const from = path.join(__dirname, '..', 'lib', 'dashboard', 'assets');
const to = path.join(__dirname, '..', 'dist', 'lib', 'dashboard', 'assets');
fs.rmSync(to, { recursive: true, force: true });
fs.mkdirSync(to, { recursive: true });
for (const name of fs.readdirSync(from)) fs.copyFileSync(path.join(from, name), path.join(to, name));
