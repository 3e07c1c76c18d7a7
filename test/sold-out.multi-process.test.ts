import type { FastifyInstance } from 'fastify';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app.js';
import { openDatabase, queryRows, type Database } from '../src/db/client.js';
import { buildTestApp, closeCheckingInventory, testConfig, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';

// Two app instances, each with its own pool, on one PostgreSQL database: what one learns about a sell-out the
// other must learn too, and a seat returned through either clears it in both. The embedded database serves
// one process only, so this runs on a server. The memory is set long here (60 s) so nothing below depends on
// timing: it can only be cleared by a returned seat, never by its TTL running out.

async function redisReachable(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const onServer = Boolean(process.env.DATABASE_URL);
const transports: { name: string; overrides: Record<string, string>; enabled: boolean }[] = [
  { name: 'PostgreSQL NOTIFY', overrides: {}, enabled: onServer },
  { name: 'Redis pub/sub', overrides: { REDIS_URL }, enabled: onServer && (await redisReachable(REDIS_URL)) },
];

const WAIT = { timeout: 15_000, interval: 50 };
const book = (app: FastifyInstance, user: TestUser, eventId: number) =>
  app.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: eventId } });
const fromMemory = async (app: FastifyInstance) => {
  const text = (await app.inject({ url: '/metrics' })).body;
  return Number(/^bookfast_sold_out_from_memory_total (\d+)$/m.exec(text)?.[1] ?? 0);
};

describe.each(transports)('when two processes sell one event, over $name', ({ overrides, enabled }) => {
  const settings = { ...overrides, SOLD_OUT_MEMORY_MS: '60000' };
  let a: TestApp;
  let b: FastifyInstance;
  let bDatabase: Database;
  let owner: TestUser;
  let crowd: TestUser[];

  beforeAll(async () => {
    if (!enabled) return;
    a = await buildTestApp(settings);
    bDatabase = await openDatabase({ databaseUrl: a.testDb.url!, poolSize: 4 });
    b = await buildApp({ config: testConfig({ ...settings, SECRET_KEY: a.config.secretKey }), database: bDatabase, logger: false });
    owner = await registerAndLogin(a.app);
    crowd = await Promise.all(Array.from({ length: 6 }, () => registerAndLogin(a.app)));
  });
  afterAll(async () => {
    if (!enabled) return;
    await b.close();
    await bDatabase.close();
    await closeCheckingInventory(a);
  });

  it.skipIf(!enabled)('then a sell-out found in one is answered from memory in the other, and a seat returned in either clears it in both', async () => {
    const event = await createEvent(a.app, owner, { total_tickets: 2 });
    const [first, second, third, fourth, fifth] = crowd as [TestUser, TestUser, TestUser, TestUser, TestUser];
    // Both sell before the sell-out, so both hear notices (a process listens from its first buyer on).
    const sold = (await book(a.app, first, event.id)).json<{ id: number }>();
    expect((await book(b, second, event.id)).statusCode).toBe(200);
    await vi.waitFor(async () => expect(await listeners(a.testDb.database, overrides)).toBeGreaterThanOrEqual(2), WAIT);

    // A's batch finds no seat left: A remembers, and tells B.
    expect((await book(a.app, third, event.id)).statusCode).toBe(400);
    expect(a.app.soldOutMemory.has(event.id)).toBe(true);
    await vi.waitFor(() => expect(b.soldOutMemory.has(event.id)).toBe(true), WAIT);

    // A seat appears behind both processes' backs (no announcement): B still refuses from memory, the hint
    // it is; correctness never depended on it (the row lock decides every sale).
    await a.testDb.database.db.execute(sql`UPDATE events SET total_tickets = 3 WHERE id = ${event.id}`);
    const refusedBefore = await fromMemory(b);
    const refused = await book(b, third, event.id);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual({ detail: 'Sold Out' });
    expect(await fromMemory(b)).toBe(refusedBefore + 1);

    // A ticket cancelled through A: both forget "sold out", and B sells both free seats.
    expect((await a.app.inject({ method: 'POST', url: `/tickets/${sold.id}/cancel`, headers: first.auth })).statusCode).toBe(200);
    expect(a.app.soldOutMemory.has(event.id)).toBe(false);
    await vi.waitFor(() => expect(b.soldOutMemory.has(event.id)).toBe(false), WAIT);
    expect((await book(b, fourth, event.id)).statusCode).toBe(200);
    expect((await book(b, fifth, event.id)).statusCode).toBe(200);
    // B found it sold out this time: A learns it from B.
    expect((await book(b, first, event.id)).statusCode).toBe(400);
    await vi.waitFor(() => expect(a.app.soldOutMemory.has(event.id)).toBe(true), WAIT);
  });
});

/** Processes listening for notices: LISTEN sessions on this database, or Redis subscribers (any test's). */
async function listeners(database: Database, overrides: Record<string, string>): Promise<number> {
  if (overrides.REDIS_URL) {
    const redis = new Redis(overrides.REDIS_URL);
    try {
      const [, subscribers] = (await redis.pubsub('NUMSUB', 'bookfast_inventory_notices')) as [string, number];
      return Number(subscribers);
    } finally {
      redis.disconnect();
    }
  }
  const rows = await queryRows<{ n: number | string }>(
    database.db,
    sql`SELECT count(*) AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'bookfast-notices' AND query LIKE 'LISTEN%' AND state = 'idle'`,
  );
  return Number(rows[0]!.n);
}
