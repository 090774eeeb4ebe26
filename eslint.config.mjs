// Lint: typescript-eslint's recommended rules, no import cycles, and the folder rule of
// ARCHITECTURE.md (which folder may import which). Formatting is Prettier's (`npm run format`).
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** Folders that must stay free of Nest (the standalone client and the CLI reuse them as they are). */
const FRAMEWORK_FREE = [
  'lib/system-database/**',
  'lib/embedded-postgres/**',
  'lib/serialization/**',
  'lib/payloads/**',
  'lib/client/**',
  'lib/debounce/**',
  'lib/fan-out/**',
  'lib/app-transaction/**',
  'lib/schedules/**',
  'lib/workflow/**',
  'lib/common/**',
  'lib/errors/**',
  'lib/transactions/**',
  'lib/observability/**',
];

/**
 * The folder rule (ARCHITECTURE.md): what each folder of lib/ may import from the rest of lib/.
 * A folder may always import itself; `folder/file` entries allow one file of a folder.
 */
const MAY_IMPORT = {
  common: [],
  errors: [],
  serialization: ['errors'],
  // The stored form of payloads (custom serializer, encryption): applied by the repositories.
  payloads: ['errors', 'serialization', 'interfaces'],
  interfaces: [],
  // The adapters type each ORM structurally and import none at run time (optional peers).
  transactions: ['common', 'errors', 'interfaces'],
  // The OpenTelemetry bridge: loads the optional @opentelemetry/api; usable from the client up.
  observability: [],
  decorators: ['interfaces', 'dbos.constants.ts'],
  'embedded-postgres': ['errors'],
  'system-database': ['common', 'errors', 'serialization', 'interfaces', 'payloads', 'dbos.constants.ts'],
  workflow: ['common', 'errors', 'serialization', 'interfaces', 'system-database'],
  // Debounced starts: bursts as delayed ENQUEUED rows, under a row lock per key.
  debounce: ['errors', 'serialization', 'system-database', 'workflow', 'observability'],
  // Waiting on a set of workflows (waitAll, waitFirst): one waiter over the set.
  'fan-out': ['common', 'errors', 'serialization', 'interfaces', 'system-database', 'workflow'],
  // The client's writes in an app's TypeORM transaction (entityManager): reuses the ORM same-database check.
  'app-transaction': ['common', 'errors', 'interfaces', 'system-database', 'workflow', 'transactions/same-database.check.ts'],
  // Runtime schedules: the ScheduleClient and the tick decisions every kind of schedule shares.
  schedules: ['errors', 'serialization', 'interfaces', 'system-database'],
  client: [
    'common',
    'errors',
    'serialization',
    'interfaces',
    'payloads',
    'system-database',
    'workflow',
    'fan-out',
    'observability',
    'debounce',
    'app-transaction',
    'schedules',
    'dbos.constants.ts',
  ],
  context: ['common', 'errors', 'interfaces', 'client', 'fan-out', 'dbos.constants.ts'],
  events: ['interfaces', 'context', 'observability'],
  execution: [
    'common',
    'errors',
    'serialization',
    'interfaces',
    'system-database',
    'workflow',
    'fan-out',
    'client',
    'debounce',
    'context',
    'discovery/registration.interfaces.ts',
    'discovery/workflow.registry.ts',
    'queues/queue.registry.ts',
    'events',
    'observability',
  ],
  recovery: [
    'common',
    'errors',
    'serialization',
    'interfaces',
    'system-database',
    'workflow',
    'execution',
    'events',
    'observability',
    'discovery/registration.interfaces.ts',
    'discovery/workflow.registry.ts',
  ],
  evolution: [
    'common',
    'errors',
    'serialization',
    'interfaces',
    'system-database',
    'workflow',
    'context',
    'execution',
    'events',
    'recovery',
    'observability',
    'discovery/registration.interfaces.ts',
    'discovery/workflow.registry.ts',
  ],
  queues: [
    'common',
    'errors',
    'interfaces',
    'system-database',
    'workflow',
    'execution',
    'observability',
    'discovery/registration.interfaces.ts',
    'discovery/workflow.registry.ts',
  ],
  scheduler: [
    'common',
    'errors',
    'interfaces',
    'system-database',
    'execution',
    'schedules',
    'discovery/registration.interfaces.ts',
    'discovery/workflow.registry.ts',
  ],
  discovery: ['common', 'errors', 'interfaces', 'decorators', 'execution', 'events', 'scheduler/cron.parser.ts', 'dbos.constants.ts'],
  health: ['common', 'errors', 'interfaces', 'system-database', 'recovery'],
  filters: ['errors'],
  'event-processing': [
    'common',
    'errors',
    'interfaces',
    'workflow',
    'execution',
    'observability',
    'discovery/registration.interfaces.ts',
    'discovery/workflow.registry.ts',
  ],
  dashboard: [
    'errors',
    'serialization',
    'interfaces',
    'system-database',
    'client',
    'filters',
    'queues/queue.registry.ts',
    'evolution/workflow.replayer.ts',
    'dbos.constants.ts',
  ],
  cli: ['common', 'errors', 'serialization', 'interfaces', 'payloads', 'system-database', 'workflow', 'client', 'evolution', 'dbos.constants.ts'],
  // The testing entry (nestjs-dbos/testing) wraps DbosModule: it sits above the root files.
  testing: [
    'common',
    'errors',
    'interfaces',
    'system-database',
    'context',
    'execution',
    'discovery',
    'queues',
    'recovery',
    'evolution',
    'dbos.module.ts',
    'dbos.database.ts',
    'dbos.options.ts',
    'dbos.constants.ts',
  ],
};

/** no-restricted-paths zones: for each folder, every other entry of lib/ it may not import. */
function layerZones() {
  const entries = readdirSync(new URL('./lib', import.meta.url)).filter((e) => e !== 'index.ts');
  const zones = [];
  for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
    for (const entry of entries) {
      if (entry === folder) continue;
      const files = allowed.filter((a) => a.startsWith(`${entry}/`)).map((a) => `./${a.slice(entry.length + 1)}`);
      if (allowed.includes(entry)) continue;
      zones.push({ target: `./lib/${folder}`, from: `./lib/${entry}`, ...(files.length > 0 ? { except: files } : {}) });
    }
  }
  return zones;
}

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'bench/node_modules/**',
      '.dbos/**',
      'coverage/**',
      'test/fixtures/prisma/generated/**',
      // The dashboard's built (minified) bundle; its sources are lib/dashboard/ui/.
      'lib/dashboard/assets/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-duplicates': 'error',
      'import-x/no-restricted-paths': ['error', { zones: layerZones() }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-unsafe-function-type': 'off',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: FRAMEWORK_FREE,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@nestjs/*'], message: 'This folder is framework-free: the standalone client and the CLI reuse it.' }] },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      globals: {
        fetch: 'readonly',
        AbortSignal: 'readonly',
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The dashboard's page: Preact components (JSX), bundled by scripts/build-dashboard.js.
    files: ['lib/dashboard/ui/**/*.js', 'lib/dashboard/ui/**/*.jsx'],
    languageOptions: {
      sourceType: 'module',
      parserOptions: { ecmaFeatures: { jsx: true } },
      globals: {
        window: 'readonly',
        document: 'readonly',
        location: 'readonly',
        history: 'readonly',
        fetch: 'readonly',
        EventSource: 'readonly',
        URLSearchParams: 'readonly',
        FormData: 'readonly',
        ResizeObserver: 'readonly',
        setTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
      },
    },
    rules: {
      // Server values go in as text: no HTML strings, and no style attribute (the page's CSP refuses them;
      // a style object is set through the CSSOM, which it allows).
      'no-restricted-syntax': [
        'error',
        { selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']", message: 'Render values as text, never as HTML.' },
        { selector: 'MemberExpression[property.name=/^(innerHTML|outerHTML)$/]', message: 'Render values as text, never as HTML.' },
        { selector: "CallExpression[callee.property.name='insertAdjacentHTML']", message: 'Render values as text, never as HTML.' },
        {
          selector: "JSXAttribute[name.name='style'][value.type='Literal']",
          message: "A style string is a style attribute, which the page's CSP refuses: pass an object.",
        },
      ],
    },
  },
  prettier,
);
