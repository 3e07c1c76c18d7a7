import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { sweepExpiredHolds } from '../src/orders/sweeper.js';
import { buildTestApp, setUpTestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { count, postOverHttp, type OrderBody } from './helpers/orders.js';
import { countBooked } from './helpers/test-db.js';
import { SeatChanges } from '../src/inventory/seat-changes.js';

const { t, owner, buyer } = setUpTestApp({ users: ['owner', 'buyer'], checkInventory: true });

const post = (url: string, payload: object, key: string | undefined, user = buyer) =>
  t.app.inject({ method: 'POST', url, headers: { ...user.auth, ...(key === undefined ? {} : { 'idempotency-key': key }) }, payload });
// Over a real connection, keeping the body's exact bytes.
async function rawPost(baseUrl: string, path: string, token: string, body: object, key?: string) {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text(), replayed: response.headers.get('idempotent-replayed') };
}
const ordersOf = (eventId: number) => count(t.testDb.database, sql`SELECT count(*)::int AS n FROM orders WHERE event_id = ${eventId}`);
const keysOf = (user: TestUser) => count(t.testDb.database, sql`SELECT count(*)::int AS n FROM idempotency_keys WHERE user_id = ${user.id}`);

describe('Idempotency-Key on POST /orders and POST /book', () => {
  it('when 20 requests with one key arrive at once, then exactly one order exists and every answer is it, byte for byte', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 100 });
    const key = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => rawPost(t.baseUrl, '/orders', buyer.token, { event_id: event.id, quantity: 2 }, key)),
    );
    expect(await ordersOf(event.id)).toBe(1);
    expect(await countBooked(t.testDb.database, event.id)).toBe(2);
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
    expect(new Set(results.map((r) => r.text)).size).toBe(1);
    expect(results.filter((r) => r.replayed !== 'true')).toHaveLength(1);
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

  it('when POST /book is retried with the same key, then the same ticket comes back byte for byte and one seat is sold', async () => {
    const event = await createEvent(t.app, owner);
    const key = randomUUID();
    const first = await post('/book', { event_id: event.id }, key);
    await post('/book', { event_id: event.id }, undefined); // the event moves on: the replay still shows it as it was
    const again = await post('/book', { event_id: event.id }, key);
    expect(first.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
    expect(await countBooked(t.testDb.database, event.id)).toBe(2);
    expect(await count(t.testDb.database, sql`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = ${key} AND ticket_id = ${first.json<{ id: number }>().id}`)).toBe(1);
  });

  it('when keyed and unkeyed buyers share one batch, then each keyed buyer replays its own ticket, whatever the key holds', async () => {
    const event = await createEvent(t.app, owner);
    const others = await Promise.all([1, 2, 3].map(() => registerAndLogin(t.app)));
    // Characters a Postgres array literal must quote: commas, braces, quotes, a backslash, the word NULL.
    const keys = ['a,b', '{x}', 'say "hi"', 'back\\slash', 'NULL', 'two words'];
    const requests = [buyer, ...others].flatMap((user, u) => [
      rawPost(t.baseUrl, '/book', user.token, { event_id: event.id }, keys[u]),
      rawPost(t.baseUrl, '/book', user.token, { event_id: event.id }, `${keys[u + 2]!}-${u}`),
      rawPost(t.baseUrl, '/book', user.token, { event_id: event.id }),
    ]);
    const first = await Promise.all(requests);
    expect(first.map((r) => r.status)).toEqual(first.map(() => 200));
    expect(await countBooked(t.testDb.database, event.id)).toBe(12);
    const again = await Promise.all(
      [buyer, ...others].flatMap((user, u) => [
        rawPost(t.baseUrl, '/book', user.token, { event_id: event.id }, keys[u]),
        rawPost(t.baseUrl, '/book', user.token, { event_id: event.id }, `${keys[u + 2]!}-${u}`),
      ]),
    );
    const keyedFirst = first.filter((_, i) => i % 3 !== 2);
    expect(again.map((r) => r.text)).toEqual(keyedFirst.map((r) => r.text));
    expect(again.every((r) => r.replayed === 'true')).toBe(true);
    expect(new Set(keyedFirst.map((r) => (JSON.parse(r.text) as { id: number }).id)).size).toBe(8);
    expect(await countBooked(t.testDb.database, event.id)).toBe(12);
  });

  it('when POST /book on an event with a per-buyer limit is retried with its key, then the one-seat order is replayed', async () => {
    const event = await createEvent(t.app, owner, { max_per_user: 2 });
    const key = randomUUID();
    const first = await post('/book', { event_id: event.id }, key);
    const again = await post('/book', { event_id: event.id }, key);
    expect(first.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
    expect(await countBooked(t.testDb.database, event.id)).toBe(1);
  });

  it('when POST /book is retried after its event sold out, then the sale is replayed, not "Sold Out" from memory', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 1 });
    const key = randomUUID();
    const first = await post('/book', { event_id: event.id }, key);
    expect((await post('/book', { event_id: event.id }, undefined, owner)).statusCode).toBe(400); // now known sold out
    const again = await post('/book', { event_id: event.id }, key);
    expect(first.statusCode).toBe(200);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
  });

  it('when a refusal of POST /book on an event with a per-buyer limit is retried, then the refusal is replayed', async () => {
    const event = await createEvent(t.app, owner, { max_per_user: 1 });
    expect((await post('/book', { event_id: event.id }, undefined)).statusCode).toBe(200);
    const key = randomUUID();
    const first = await post('/book', { event_id: event.id }, key);
    expect(first.statusCode).toBe(409);
    await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: { max_per_user: 5 } });
    const again = await post('/book', { event_id: event.id }, key);
    expect(again.statusCode).toBe(409);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
    expect(await countBooked(t.testDb.database, event.id)).toBe(1);
  });

  it('when a confirm is retried with its key, then the confirmed order is replayed instead of 409 already confirmed', async () => {
    const event = await createEvent(t.app, owner);
    const hold = await post('/orders', { event_id: event.id, quantity: 2, hold: true }, undefined);
    const { id } = hold.json<OrderBody>();
    const key = randomUUID();
    const first = await post(`/orders/${id}/confirm`, {}, key);
    const again = await post(`/orders/${id}/confirm`, {}, key);
    const unkeyed = await post(`/orders/${id}/confirm`, {}, undefined);
    expect(first.statusCode).toBe(200);
    expect(first.json<OrderBody>().status).toBe('confirmed');
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
    expect(unkeyed.statusCode).toBe(409);
    expect(await countBooked(t.testDb.database, event.id)).toBe(2);
    // The same key on another order's confirm is another request.
    const other = await post('/orders', { event_id: event.id, quantity: 1, hold: true }, undefined);
    expect((await post(`/orders/${other.json<OrderBody>().id}/confirm`, {}, key)).statusCode).toBe(422);
  });

  it('when the same key reaches two app instances sharing one database, then one ticket is sold and both answer it', async () => {
    const second = await buildApp({ config: t.config, database: t.testDb.database, logger: false });
    const secondUrl = await second.listen({ port: 0, host: '127.0.0.1' });
    try {
      const event = await createEvent(t.app, owner);
      const key = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => rawPost(i % 2 ? secondUrl : t.baseUrl, '/book', buyer.token, { event_id: event.id }, key)),
      );
      expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
      expect(new Set(results.map((r) => r.text)).size).toBe(1);
      expect(await countBooked(t.testDb.database, event.id)).toBe(1);
    } finally {
      await second.close();
    }
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

    // POST /book's batch statement finds the old row itself; it too is used as new.
    const bookKey = randomUUID();
    await post('/book', { event_id: event.id }, bookKey);
    await t.testDb.database.db.execute(sql`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = ${bookKey}`);
    const again = await post('/book', { event_id: event.id }, bookKey);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(await countBooked(t.testDb.database, event.id)).toBe(5);

    await t.testDb.database.db.execute(age);
    await sweepExpiredHolds(t.testDb.database.db, new SeatChanges());
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
  it('then nothing is stored, so a retry with the same key is served anew', async () => {
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
      await admin.query('BEGIN');
      await admin.query('SELECT id FROM events WHERE id = $1 FOR UPDATE', [event.id]);
      const first = book(a!, keys[0]); // its batch waits on the lock
      while (Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0]!.n) === 0) {
        await new Promise((r) => setTimeout(r, 10));
      }
      // Of these two, one waits in the queue and the other finds it full: 503.
      const [second, third] = [book(b!, keys[1]), book(c!, keys[2])];
      const refused = await Promise.race([second.then((r) => ({ r, i: 1 })), third.then((r) => ({ r, i: 2 }))]);
      expect(refused.r.status).toBe(503);
      await admin.query('COMMIT');
      const served = await (refused.i === 1 ? third : second);
      expect([(await first).status, served.status]).toEqual([200, 200]);

      const stored = await admin.query<{ key: string; status_code: number }>('SELECT key, status_code FROM idempotency_keys WHERE key = ANY($1)', [keys]);
      expect(stored.rows.map((row) => row.key).sort()).toEqual([keys[0], keys[3 - refused.i]].sort());
      const retry = await book(refused.i === 1 ? b! : c!, keys[refused.i]!);
      expect(retry.status).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
    } finally {
      await admin.query('ROLLBACK').catch(() => undefined);
      await admin.end();
      await small.close();
    }
  });
});
