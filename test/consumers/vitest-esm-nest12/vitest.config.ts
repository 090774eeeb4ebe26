import { defineConfig } from 'vitest/config';

// As `nest new` writes it; the e2e specs are included here too.
export default defineConfig({
  resolve: { tsconfigPaths: true },
  test: {
    globals: true,
    root: './',
    include: ['**/*.e2e-spec.ts'],
    exclude: ['node_modules/**'],
  },
});
