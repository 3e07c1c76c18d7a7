import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createTestDatabase, findInventoryDrift, type TestDatabase } from './test-db.js';

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  testDb: TestDatabase;
  /** Base URL of the real listening server, for races and raw HTTP clients. */
  baseUrl: string;
  close(): Promise<void>;
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(
    {
      SECRET_KEY: randomBytes(32).toString('hex'),
      DATA_DIR: mkdtempSync(join(tmpdir(), 'bookfast-test-')),
      BCRYPT_COST: '10',
      // Tests register many users from one address; the rate-limit tests turn limits back on.
      RATE_LIMITS: 'off',
      ...overrides,
    },
    { dotenv: false },
  );
}

/** The real app, as production builds it, on a fresh database, listening on a random port. */
export async function buildTestApp(overrides: Record<string, string> = {}): Promise<TestApp> {
  const config = testConfig(overrides);
  const testDb = await createTestDatabase();
  const app = await buildApp({ config, database: testDb.database, logger: false });
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    config,
    testDb,
    baseUrl,
    async close() {
      await app.close();
      await testDb.drop();
    },
  };
}

/** The teardown of a test file that sells seats: every event's counters must match its tickets and holds. */
export async function closeCheckingInventory(t: TestApp): Promise<void> {
  expect(await findInventoryDrift(t.testDb.database)).toEqual([]);
  await t.close();
}
