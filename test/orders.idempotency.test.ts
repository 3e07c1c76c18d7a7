import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookingBatcher } from '../src/bookings/batcher.js';
import { sweepExpiredHolds } from '../src/orders/sweeper.js';
import { buildTestApp, closeCheckingInventory, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { count, postOverHttp, type OrderBody } from './helpers/orders.js';
import { countBooked } from './helpers/test-db.js';

let t: TestApp;
let owner: TestUser;
let buyer: TestUser;
beforeAll(async () => {
  t = await buildTestApp();
  owner = await registerAndLogin(t.app);
  buyer = await registerAndLogin(t.app);
});
afterAll(() => closeCheckingInventory(t));

const post = (url: string, payload: object, key: string | undefined, user = buyer) =>
  t.app.inject({ method: 'POST', url, headers: { ...user.auth, ...(key === undefined ? {} : { 'idempotency-key': key }) }, payload });
const ordersOf = (eventId: number) => count(t.testDb.database, sql`SELECT count(*)::int AS n FROM orders WHERE event_id = ${eventId}`);
const keysOf = (user: TestUser) => count(t.testDb.database, sql`SELECT count(*)::int AS n FROM idempotency_keys WHERE user_id = ${user.id}`);

describe('Idempotency-Key on POST /orders and POST /book', () => {
  it('when 20 requests with one key arrive at once, then exactly one order exists and every answer is it or "in progress"', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 100 });
    const key = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => postOverHttp(t.baseUrl, '/orders', buyer.token, { event_id: event.id, quantity: 2 }, { 'idempotency-key': key })),
    );
    expect(await ordersOf(event.id)).toBe(1);
    expect(await countBooked(t.testDb.database, event.id)).toBe(2);
    const ok = results.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ok.map((r) => (r.body as unknown as OrderBody).id)).size).toBe(1);
    expect(ok.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) {
      expect(r).toMatchObject({ status: 409, body: { detail: 'A request with this Idempotency-Key is in progress' } });
    }
  });

  it('when a request is retried with the same key, then the first answer comes back, marked replayed, and nothing is booked twice', async () => {
    const event = await createEvent(t.app, owner);
    const key = randomUUID();
    const first = await post('/orders', { event_id: event.id, quantity: 3, hold: true }, key);
    // The same body with its keys in another order and the default written out is the same request.
    const again = await post('/orders', { hold: true, quantity: 3, event_id: event.id }, key);
    expect(first.statusCode).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
    expect(await ordersOf(event.id)).toBe(1);
  });

  it('when a refusal is retried with the same key, then the refusal is replayed even if the request would now succeed', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 1 });
    const key = randomUUID();
    const first = await post('/orders', { event_id: event.id, quantity: 2 }, key);
    expect(first.statusCode).toBe(400);
    await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: { total_tickets: 5 } });
    const again = await post('/orders', { event_id: event.id, quantity: 2 }, key);
    expect(again.statusCode).toBe(400);
    expect(again.json()).toEqual({ detail: 'Sold Out' });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await ordersOf(event.id)).toBe(0);
  });

  it('when the same key comes with another body or route, then 422 and nothing happens', async () => {
    const event = await createEvent(t.app, owner);
    const key = randomUUID();
    expect((await post('/orders', { event_id: event.id, quantity: 1 }, key)).statusCode).toBe(200);
    const other = await post('/orders', { event_id: event.id, quantity: 2 }, key);
    expect(other.statusCode).toBe(422);
    expect(other.json<{ detail: { loc: string[] }[] }>().detail[0]!.loc).toEqual(['header', 'idempotency-key']);
    expect((await post('/book', { event_id: event.id }, key)).statusCode).toBe(422);
    expect(await countBooked(t.testDb.database, event.id)).toBe(1);
  });

  it('when another user sends the same key, then it is a different request of theirs', async () => {
    const event = await createEvent(t.app, owner);
    const key = randomUUID();
    const mine = await post('/orders', { event_id: event.id, quantity: 1 }, key);
    const theirs = await post('/orders', { event_id: event.id, quantity: 1 }, key, owner);
    expect(theirs.statusCode).toBe(200);
    expect(theirs.json<OrderBody>().id).not.toBe(mine.json<OrderBody>().id);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
  });

  it('when POST /book is retried with the same key, then the same ticket comes back and one seat is sold', async () => {
    const event = await createEvent(t.app, owner);
    const key = randomUUID();
    const first = await post('/book', { event_id: event.id }, key);
    const again = await post('/book', { event_id: event.id }, key);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(await countBooked(t.testDb.database, event.id)).toBe(1);
  });

  it('when no key is sent, then nothing is stored', async () => {
    const event = await createEvent(t.app, owner);
    const before = await keysOf(owner);
    await post('/book', { event_id: event.id }, undefined, owner);
    await post('/orders', { event_id: event.id, quantity: 1 }, undefined, owner);
    expect(await keysOf(owner)).toBe(before);
  });

  it('when a key is older than 24 hours, then it is reused as new, and the sweeper purges such keys', async () => {
    const event = await createEvent(t.app, owner);
    const key = randomUUID();
    await post('/orders', { event_id: event.id, quantity: 1 }, key);
    const age = sql`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE user_id = ${buyer.id} AND key = ${key}`;
    await t.testDb.database.db.execute(age);
    const fresh = await post('/orders', { event_id: event.id, quantity: 2 }, key);
    expect(fresh.statusCode).toBe(200);
    expect(fresh.headers['idempotent-replayed']).toBeUndefined();
    expect(await ordersOf(event.id)).toBe(2);

    await t.testDb.database.db.execute(age);
    await sweepExpiredHolds(t.testDb.database.db, new BookingBatcher(t.testDb.database, { maxBatchSize: 1, queueLimit: 1, soldOutTtlMs: 0 }));
    expect(await count(t.testDb.database, sql`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = ${key}`)).toBe(0);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a tab', 'a\tb'],
  ])('when the key is %s, then 422 naming the header', async (_label, key) => {
    const event = await createEvent(t.app, owner);
    const response = await post('/orders', { event_id: event.id, quantity: 1 }, key);
    expect(response.statusCode).toBe(422);
    expect(response.json<{ detail: { loc: string[] }[] }>().detail[0]!.loc).toEqual(['header', 'idempotency-key']);
    expect(await ordersOf(event.id)).toBe(0);
  });

  it('when 255 printable characters are sent, then the key is accepted', async () => {
    const event = await createEvent(t.app, owner);
    const key = `${'~ !"#'.repeat(51)}`;
    const response = await post('/orders', { event_id: event.id, quantity: 1 }, key);
    expect(response.statusCode).toBe(200);
    expect((await post('/orders', { event_id: event.id, quantity: 1 }, key)).headers['idempotent-replayed']).toBe('true');
    expect(await ordersOf(event.id)).toBe(1);
  });
});

// PostgreSQL only: the test holds the event's row lock from its own connection, which the one-connection
// embedded database cannot do, to make the 503 certain rather than likely.
describe.skipIf(!process.env.DATABASE_URL)('when the answer is a 5xx', () => {
  it('then the key is let go, so a retry with the same key is served anew', async () => {
    // One batch at a time and one buyer waiting; the event row is locked, so the first batch cannot finish.
    const small = await buildTestApp({ BATCH_QUEUE_LIMIT: '1', BATCHES_IN_FLIGHT: '1' });
    const admin = new pg.Client({ connectionString: small.testDb.url });
    await admin.connect();
    try {
      const seller = await registerAndLogin(small.app);
      const event = await createEvent(small.app, seller);
      const [a, b, c] = await Promise.all([1, 2, 3].map(() => registerAndLogin(small.app)));
      const keys = [randomUUID(), randomUUID(), randomUUID()] as const;
      const book = (user: TestUser, key: string) => postOverHttp(small.baseUrl, '/book', user.token, { event_id: event.id }, { 'idempotency-key': key });
      const until = async (query: string, values: unknown[]) => {
        while (Number((await admin.query<{ n: string }>(query, values)).rows[0]!.n) === 0) await new Promise((r) => setTimeout(r, 10));
      };
      await admin.query('BEGIN');
      await admin.query('SELECT id FROM events WHERE id = $1 FOR UPDATE', [event.id]);
      const first = book(a!, keys[0]); // its batch waits on the lock
      await until(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`, []);
      const second = book(b!, keys[1]); // waits in the queue
      await until('SELECT count(*) AS n FROM idempotency_keys WHERE key = $1', [keys[1]]);
      const third = await book(c!, keys[2]);
      expect(third.status).toBe(503);
      await admin.query('COMMIT');
      expect([(await first).status, (await second).status]).toEqual([200, 200]);

      const stored = await admin.query<{ key: string; status_code: number }>('SELECT key, status_code FROM idempotency_keys WHERE key = ANY($1)', [keys]);
      expect(Object.fromEntries(stored.rows.map((row) => [row.key, row.status_code]))).toEqual({ [keys[0]]: 200, [keys[1]]: 200 });
      const retry = await book(c!, keys[2]);
      expect(retry.status).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
    } finally {
      await admin.query('ROLLBACK').catch(() => undefined);
      await admin.end();
      await small.close();
    }
  });
});
