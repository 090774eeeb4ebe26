'use strict';
// `node -r ./bench/transpile.js file.ts`: runs the nestjs-dbos bench child's TypeScript (its
// system file and lib/) by transpiling each file as it is required, one file at a time with the
// repository's compiler options (isolatedModules), as ts-node's transpile-only mode does, and as
// an app's build would emit it. Not ts-node itself: its register loads Node's REPL, which loads
// `domain`, and from then on every EventEmitter of the process is made and emits through the
// domain hooks, a cost neither a compiled app nor DBOS Transact's plain-JavaScript child pays.
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

// tsconfig.json's compiler options, with the source map inline (the module is compiled in memory).
const root = path.join(__dirname, '..');
const { config } = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
const compilerOptions = {
  ...ts.convertCompilerOptionsFromJson(config.compilerOptions, root).options,
  sourceMap: false,
  inlineSourceMap: true,
};

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
