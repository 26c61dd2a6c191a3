import { defineConfig } from 'vitest/config';

// The minimal peer's own tests on their own (`npm test` runs them too, from the root config):
// `npx vitest run --config conformance/minimal-peer/vitest.config.ts`.
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
