import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The Patroni failover test has its own run and CI step (vitest.failover.config.ts).
    exclude: ['test/failover/**', '**/node_modules/**'],
    // Builds the web box office (web/dist) when it is missing or stale.
    globalSetup: ['test/global-setup.ts'],
    // Vitest's own report first (CI reads its summary), then what was skipped for want of PostgreSQL, Redis
    // or Chromium, and how to run it.
    reporters: ['default', './test/skipped-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: two files at a time, each with its own freshly migrated database.
    pool: 'forks',
    maxWorkers: 2,
  },
});
