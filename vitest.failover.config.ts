import { defineConfig } from 'vitest/config';

// `npm run test:failover`: the Patroni failover test (test/failover), its own CI step. It starts a cluster
// of its own (ops/ha/start.sh) and needs no DATABASE_URL; one file, its steps in order.
export default defineConfig({
  test: {
    include: ['test/failover/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
