import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    // one PostgreSQL server of the run's own for every test file (or KEYLEASH_TEST_PG_URL's)
    globalSetup: ['test/postgres/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // End-to-end suites start real proxy processes and upstreams on ephemeral ports; a couple of
    // files at a time keeps a 2-core CI box from timing out.
    maxWorkers: 2,
  },
});
