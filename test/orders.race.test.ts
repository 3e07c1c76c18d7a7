import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.js';
import { sweepExpiredHolds } from '../src/orders/sweeper.js';
import { setUpTestApp } from './helpers/build-test-app.js';
import { bookOverHttp, createEvent, type EventBody, type TestUser } from './helpers/factories.js';
import { count, postOverHttp, type OrderBody } from './helpers/orders.js';
import { tally } from './helpers/tally.js';
import { countBooked, findInventoryDrift } from './helpers/test-db.js';
import { SeatChanges } from '../src/inventory/seat-changes.js';

// Races through the real server on a real port. They assert counts and the invariants (checked with SQL after
// each test), never timings.

const { t, owner, crowd: buyers } = setUpTestApp({ users: ['owner'], crowd: 40 });

const noDrift = async () => expect(await findInventoryDrift(t.testDb.database)).toEqual([]);
const eventNow = async (eventId: number) => (await t.app.inject({ url: `/events/${eventId}` })).json<EventBody>();
const orderOverHttp = (user: TestUser, body: object) => postOverHttp(t.baseUrl, '/orders', user.token, body);

describe('when buyers race for seats with several seats per order', () => {
  it('then 200 orders of 1..4 seats for 100 seats never sell more than 100 and refuse whole', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 100 });
    const quantities = Array.from({ length: 200 }, (_, i) => (i % 4) + 1);
    const results = await Promise.all(
      quantities.map((quantity, i) => orderOverHttp(buyers[i % buyers.length]!, { event_id: event.id, quantity, hold: i % 5 === 0 })),
    );
    expect(Object.keys(tally(results.map((r) => r.status))).sort()).toEqual(['200', '400']);
    const won = results.filter((r) => r.status === 200).map((r) => r.body as unknown as OrderBody);
    const seatsWon = won.reduce((sum, o) => sum + o.quantity, 0);
    expect(seatsWon).toBeLessThanOrEqual(100);
    // Refused whole: a refused order asked for more than ever remained after it (what remains only shrinks).
    const left = 100 - seatsWon;
    quantities.forEach((quantity, i) => {
      if (results[i]!.status === 400) expect(quantity).toBeGreaterThan(left);
    });
    const booked = won.filter((o) => o.status === 'confirmed').reduce((sum, o) => sum + o.quantity, 0);
    expect(await countBooked(t.testDb.database, event.id)).toBe(booked);
    expect(await count(t.testDb.database, sql`SELECT count(*)::int AS n FROM orders WHERE event_id = ${event.id}`)).toBe(won.length);
    expect(await eventNow(event.id)).toMatchObject({ tickets_sold: booked, tickets_available: left });
    await noDrift();
  });

  it('then one buyer with max_per_user = 4 firing 20 orders and 10 bookings at once ends with at most 4 seats', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 100, max_per_user: 4 });
    const buyer = buyers[0]!;
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => orderOverHttp(buyer, { event_id: event.id, quantity: (i % 2) + 1, hold: i % 3 === 0 })),
      ...Array.from({ length: 10 }, () => bookOverHttp(t.baseUrl, buyer.token, event.id)),
    ]);
    for (const result of results) expect([200, 409]).toContain(result.status);
    const seats = await count(
      t.testDb.database,
      sql`SELECT (SELECT count(*) FROM tickets WHERE event_id = ${event.id} AND user_id = ${buyer.id} AND status = 'booked')::int
               + (SELECT COALESCE(sum(quantity), 0) FROM orders WHERE event_id = ${event.id} AND user_id = ${buyer.id} AND status = 'pending')::int AS n`,
    );
    expect(seats).toBeLessThanOrEqual(4);
    expect(seats).toBeGreaterThan(0);
    const granted = results.filter((r) => r.status === 200).reduce((sum, r) => sum + (Number(r.body.quantity) || 1), 0);
    expect(granted).toBe(seats);
    await noDrift();
  });
});

describe('when a confirm races the expiry of its hold', () => {
  it('then each hold is either confirmed with its tickets or expired with its seats back, never both, never neither, and both happen', async () => {
    const outcomes: number[] = [];
    for (let round = 0; round < 3; round++) {
      const event = await createEvent(t.app, owner, { total_tickets: 20 });
      const holds = await Promise.all(buyers.slice(0, 20).map((buyer) => orderOverHttp(buyer, { event_id: event.id, quantity: 1, hold: true })));
      const ids = holds.map((h) => (h.body as unknown as OrderBody).id);
      // Time passing, set on the database's clock: a random half of the holds (never none, never all) is
      // already over, the rest still runs for an hour. Which hold is which decides its outcome; whether the
      // confirm, the sweeper or a booking's lazy release gets to an overdue hold first must not.
      const overdue = new Set(ids.filter((_, i) => i === 0 || (i !== 1 && Math.random() < 0.5)));
      await t.testDb.database.db.execute(
        sql`UPDATE orders SET expires_at = CASE WHEN id = ANY(${`{${[...overdue].join(',')}}`}::int[]) THEN now() - interval '1 second'
                                                ELSE now() + interval '1 hour' END
            WHERE event_id = ${event.id}`,
      );
      const changes = new SeatChanges();
      const [confirms] = await Promise.all([
        Promise.all(ids.map((id, i) => postOverHttp(t.baseUrl, `/orders/${id}/confirm`, buyers[i]!.token))),
        Promise.all(Array.from({ length: 5 }, () => sweepExpiredHolds(t.testDb.database.db, changes))),
        Promise.all(Array.from({ length: 10 }, (_, i) => bookOverHttp(t.baseUrl, buyers[20 + i]!.token, event.id))),
      ]);

      const rows = await queryRows<{ id: number; status: string; tickets: number }>(
        t.testDb.database.db,
        sql`SELECT o.id, o.status, (SELECT count(*)::int FROM tickets t WHERE t.order_id = o.id AND t.status = 'booked') AS tickets
            FROM orders o WHERE o.id = ANY(${`{${ids.join(',')}}`}::int[])`,
      );
      const byId = new Map(rows.map((row) => [row.id, row]));
      ids.forEach((id, i) => {
        outcomes.push(confirms[i]!.status);
        if (overdue.has(id)) {
          expect(confirms[i]!.status).toBe(409);
          expect(byId.get(id)).toMatchObject({ status: 'expired', tickets: 0 });
        } else {
          expect(confirms[i]!.status).toBe(200);
          expect(byId.get(id)).toMatchObject({ status: 'confirmed', tickets: 1 });
        }
      });
      // Seats of expired holds came back exactly once: counters agree with the rows.
      await noDrift();
    }
    expect(new Set(outcomes)).toEqual(new Set([200, 409]));
  });
});

describe('when the same order is acted on many times at once', () => {
  it('then twenty cancels of one confirmed order cancel it once and return its seats once', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 10 });
    const placed = (await orderOverHttp(buyers[1]!, { event_id: event.id, quantity: 3 })).body as unknown as OrderBody;
    const results = await Promise.all(Array.from({ length: 20 }, () => postOverHttp(t.baseUrl, `/orders/${placed.id}/cancel`, buyers[1]!.token)));
    expect(tally(results.map((r) => r.status))).toEqual({ 200: 1, 409: 19 });
    expect(await eventNow(event.id)).toMatchObject({ tickets_sold: 0, tickets_available: 10 });
    await noDrift();
  });

  it('then confirms and cancels of one hold racing leave the seats counted once, whatever wins', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 10 });
    const hold = (await orderOverHttp(buyers[2]!, { event_id: event.id, quantity: 2, hold: true })).body as unknown as OrderBody;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => postOverHttp(t.baseUrl, `/orders/${hold.id}/${i % 2 ? 'cancel' : 'confirm'}`, buyers[2]!.token)),
    );
    for (const result of results) expect([200, 409]).toContain(result.status);
    const after = (await t.app.inject({ url: `/orders/${hold.id}`, headers: buyers[2]!.auth })).json<OrderBody>();
    expect(after.status).toBe('cancelled'); // at least one cancel runs after a confirm or a hold
    expect(await eventNow(event.id)).toMatchObject({ tickets_sold: 0, tickets_available: 10 });
    await noDrift();
  });
});
