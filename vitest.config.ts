import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the "source" condition, so tests
// run against src/ without a build step (production images run the compiled dist/).
export default defineConfig({
  resolve: { conditions: ['source', 'import', 'node', 'default'] },
  ssr: { resolve: { conditions: ['source', 'import', 'node', 'default'], externalConditions: ['source'] } },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'client/test/**/*.test.ts',
      'loadtest/test/**/*.test.ts',
      'infra/test/**/*.test.ts',
      'test/**/*.test.ts',
      // The minimal second implementation's own tests (it is built only from the spec).
      'conformance/*/test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most integration tests wait on sockets, timers and child processes, not on the CPU, so two
    // forks on this 2-core machine (vitest's default is one) roughly halve test:main; three took it
    // from 11 min 50 s to 5 min but starved timing-sensitive load smoke tests. The heavy tiers are
    // one file each, so they still run alone.
    maxWorkers: 2,
  },
});
