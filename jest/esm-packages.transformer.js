// Jest transformer for ES-module-only packages in node_modules (Nest 12 ships "type": "module").
//
// Node (>= 20.19) loads them from CommonJS through require(esm), but Jest's own module loader does
// not on this Node (Jest's require(esm) needs Node >= 24.9 and --experimental-vm-modules). So, for
// the tests only, these files are compiled to CommonJS by TypeScript, as Jest documents for ESM
// dependencies (transformIgnorePatterns + a transform). Each module then lives in Jest's registry
// like any CommonJS module: one instance per test file, `import()` becomes a `require()`.
//
// Shipped with the package for its Jest preset (jest-preset.js: `preset: 'nestjs-dbos'`). The library,
// the sample app and the child-process fixtures are not affected: they run on Node's
// own loader (ts-node, or the compiled dist/), where require(esm) is native.
'use strict';
const crypto = require('node:crypto');
const ts = require('typescript');

const VERSION = '4';

/**
 * `import.meta` has no CommonJS meaning: `url` becomes the file's URL, `dirname`/`filename` the
 * CommonJS ones, `resolve(x)` the URL of `require.resolve(x)`. A module that makes its own
 * `require` (`const require = createRequire(import.meta.url)`, as @nestjs/terminus 12 does) gets
 * CommonJS's own instead: declaring it again would be a syntax error there.
 */
function replaceImportMeta(code) {
  return code
    .replace(/^\s*const require = createRequire\([^)]*\);?[ \t]*$/gm, '')
    .replace(/\bimport\.meta\.resolve\(([^()]*)\)/g, "require('node:url').pathToFileURL(require.resolve($1)).href")
    .replace(/\bimport\.meta\.url\b/g, "require('node:url').pathToFileURL(__filename).href")
    .replace(/\bimport\.meta\.dirname\b/g, '__dirname')
    .replace(/\bimport\.meta\.filename\b/g, '__filename');
}

module.exports = {
  process(sourceText, sourcePath) {
    const output = ts.transpileModule(replaceImportMeta(sourceText), {
      fileName: sourcePath,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        allowJs: true,
        esModuleInterop: true,
        sourceMap: true,
        inlineSources: false,
      },
    });
    return { code: output.outputText, map: output.sourceMapText };
  },
  getCacheKey(sourceText, sourcePath) {
    return crypto.createHash('sha1').update(VERSION).update(ts.version).update(sourcePath).update('\0').update(sourceText).digest('hex');
  },
};
