import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { registerAndLogin, type TestUser } from './factories.js';
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

export interface TestAppSetup<Name extends string> {
  /** Users to sign up, one after another in this order, each under its own name. */
  users?: readonly Name[];
  /** How many more users to sign up (at once) into `crowd`, for races. */
  crowd?: number;
  /** Config overrides, as for buildTestApp. */
  overrides?: Record<string, string>;
  /** Close with closeCheckingInventory: for files that sell seats. */
  checkInventory?: boolean;
  /** beforeAll's timeout, for files that sign up many users (bcrypt is slow on a busy machine). */
  timeout?: number;
}

/**
 * The setup most test files share: one app for the file (or describe block) and its users, made in beforeAll
 * and closed in afterAll. The objects it returns are empty until beforeAll fills them in place, so a test
 * file can name them at its top (`const { t, owner } = setUpTestApp({ users: ['owner'] })`).
 */
export function setUpTestApp<Name extends string = never>(
  setup: TestAppSetup<Name> = {},
): { t: TestApp; crowd: TestUser[] } & Record<Name, TestUser> {
  const t = {} as TestApp;
  const crowd: TestUser[] = [];
  const users = Object.fromEntries((setup.users ?? []).map((name) => [name, {} as TestUser])) as Record<Name, TestUser>;
  beforeAll(async () => {
    Object.assign(t, await buildTestApp(setup.overrides));
    for (const name of setup.users ?? []) Object.assign(users[name], await registerAndLogin(t.app));
    crowd.push(...(await Promise.all(Array.from({ length: setup.crowd ?? 0 }, () => registerAndLogin(t.app)))));
  }, setup.timeout);
  afterAll(async () => {
    // Nothing to close when beforeAll failed before the app was built (vitest reports that failure).
    if (!t.app) return;
    await (setup.checkInventory ? closeCheckingInventory(t) : t.close());
  });
  return { t, crowd, ...users };
}
