import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.js';
import { buildTestApp, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';

// Issue 25 item 8: one booking limit per buyer across the selling routes, counted in requests. With the limit
// at 20, a buyer made 20 POST /book and 20 POST /orders of 10 seats: each route had a count of its own.

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A buyer whose id no other fresh test database hands out: Redis is shared between test files and runs. */
async function buyerWithUniqueId(app: TestApp): Promise<TestUser> {
  const email = `selling-${randomBytes(5).toString('hex')}@example.com`;
  const id = 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
  const [row] = await queryRows<{ token_version: number }>(
    app.testDb.database.db,
    sql`INSERT INTO users (id, email, password) VALUES (${id}, ${email}, 'not-a-hash') RETURNING token_version`,
  );
  const token = app.app.issueToken({ id, email, tokenVersion: row!.token_version });
  return { id, email, token, auth: { authorization: `Bearer ${token}` } };
}

async function sellingRoutesShareOneCount(app: TestApp, buyer: TestUser, other: TestUser) {
  const owner = await registerAndLogin(app.app);
  const event = await createEvent(app.app, owner, { total_tickets: 100, max_per_order: 10 });
  const call = (user: TestUser, url: string, payload: object) => app.app.inject({ method: 'POST', url, headers: user.auth, payload: { event_id: event.id, ...payload } });
  const statuses = [
    (await call(buyer, '/book', {})).statusCode,
    (await call(buyer, '/orders', { quantity: 10 })).statusCode,
    (await call(buyer, '/orders', { quantity: 2, hold: true })).statusCode,
    (await call(buyer, '/book', {})).statusCode,
    (await call(buyer, '/orders', { quantity: 10 })).statusCode,
    (await call(buyer, '/book', {})).statusCode,
  ];
  expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  expect((await call(other, '/orders', { quantity: 1 })).statusCode).toBe(200);
}

describe('the booking limit (RATE_LIMIT_BOOKINGS_PER_MINUTE)', () => {
  it('when a buyer spreads purchases over POST /book and POST /orders (holds too), then they share one count per buyer', async () => {
    t = await buildTestApp({ RATE_LIMITS: 'on', RATE_LIMIT_BOOKINGS_PER_MINUTE: '4' });
    await sellingRoutesShareOneCount(t, await registerAndLogin(t.app), await registerAndLogin(t.app));
  });

  it.skipIf(!process.env.TEST_REDIS_URL)('when REDIS_URL is set, then the selling routes share one count in Redis as well', async () => {
    t = await buildTestApp({ RATE_LIMITS: 'on', REDIS_URL: process.env.TEST_REDIS_URL!, RATE_LIMIT_BOOKINGS_PER_MINUTE: '4' });
    await sellingRoutesShareOneCount(t, await buyerWithUniqueId(t), await buyerWithUniqueId(t));
  });
});
