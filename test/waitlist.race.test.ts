import { sql } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import { promoteWaitlist } from '../src/inventory/returns.js';
import { queryRows } from '../src/db/client.js';
import { setUpTestApp } from './helpers/build-test-app.js';
import { bookOverHttp, createEvent, type TestUser } from './helpers/factories.js';
import { count, postOverHttp } from './helpers/orders.js';

// Returned seats racing new buyers, through the real server on a real port (and promotions called directly,
// as other processes would). Counts and invariants, never timings; on the embedded database (one connection)
// the statements take turns, on PostgreSQL they truly race.

// 48 sign-ups (bcrypt): slow when the machine is busy.
const { t, owner, crowd: people } = setUpTestApp({ users: ['owner'], crowd: 48, checkInventory: true, timeout: 240_000 });

const order = (user: TestUser, body: object) => postOverHttp(t.baseUrl, '/orders', user.token, body);
const expireHoldsOf = (eventId: number) =>
  t.testDb.database.db.execute(sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE event_id = ${eventId} AND status = 'pending'`);
const lineOf = async (eventId: number) =>
  (await queryRows<{ user_id: number }>(t.testDb.database.db, sql`SELECT user_id FROM waitlist WHERE event_id = ${eventId} ORDER BY id`)).map((r) => r.user_id);
const pendingHoldsOf = (eventId: number) =>
  queryRows<{ id: number; user_id: number; quantity: number }>(
    t.testDb.database.db,
    sql`SELECT id, user_id, quantity FROM orders WHERE event_id = ${eventId} AND status = 'pending' ORDER BY id`,
  );
/** Seats (booked tickets and pending holds) that these users have in the event. */
const seatsOf = (eventId: number, users: TestUser[]) =>
  count(
    t.testDb.database,
    sql`SELECT (SELECT count(*) FROM tickets WHERE event_id = ${eventId} AND status = 'booked' AND user_id = ANY(${`{${users.map((u) => u.id).join(',')}}`}::int[]))::int
             + (SELECT COALESCE(sum(quantity), 0) FROM orders WHERE event_id = ${eventId} AND status = 'pending' AND user_id = ANY(${`{${users.map((u) => u.id).join(',')}}`}::int[]))::int AS n`,
  );

/**
 * A sold-out event: `tickets` single seats booked by one seller (to cancel), `holds` holds of one seat (to
 * expire), the rest booked by a keeper; then `waiting` people in line, in that order.
 */
async function soldOut(seats: number, tickets: number, holds: number, line: TestUser[]) {
  const event = await createEvent(t.app, owner, { total_tickets: seats, max_per_order: seats });
  const [seller, keeper, ...holders] = people;
  const sold: number[] = [];
  for (let i = 0; i < tickets; i++) sold.push((await bookOverHttp(t.baseUrl, seller!.token, event.id)).body.id as number);
  for (let i = 0; i < holds; i++) expect((await order(holders[i]!, { event_id: event.id, quantity: 1, hold: true })).status).toBe(200);
  const rest = seats - tickets - holds;
  if (rest > 0) expect((await order(keeper!, { event_id: event.id, quantity: rest })).status).toBe(200);
  for (const person of line) expect((await postOverHttp(t.baseUrl, `/events/${event.id}/waitlist`, person.token)).status).toBe(201);
  return { event, seller: seller!, sold };
}

describe('when seats come back while people wait in line', () => {
  it('then a burst of bookings and orders racing cancellations and expiries gets none of them, and each place in line becomes one hold, in line order', async () => {
    const line = people.slice(10, 18);
    const outsiders = people.slice(18);
    const { event, seller, sold } = await soldOut(6, 3, 3, line);
    await expireHoldsOf(event.id);

    const answers = await Promise.all([
      ...sold.map((id) => postOverHttp(t.baseUrl, `/tickets/${id}/cancel`, seller.token)),
      ...outsiders.map((buyer) => bookOverHttp(t.baseUrl, buyer.token, event.id)),
      ...outsiders.slice(0, 12).map((buyer, i) => order(buyer, { event_id: event.id, quantity: 1, hold: i % 2 === 0 })),
      ...Array.from({ length: 4 }, () => promoteWaitlist(t.testDb.database.db, event.id).then(() => ({ status: 0 }))),
    ]);
    // Cancels succeed; every buyer outside the line is told "sold out", none gets a 5xx.
    expect(answers.slice(0, 3).map((a) => a.status)).toEqual([200, 200, 200]);
    expect(new Set(answers.slice(3, 3 + outsiders.length + 12).map((a) => a.status))).toEqual(new Set([400]));

    // Six seats came back, all to the first six in line, one hold each, in line order.
    await vi.waitFor(async () => expect(await pendingHoldsOf(event.id)).toHaveLength(6), { timeout: 10_000 });
    const holds = await pendingHoldsOf(event.id);
    expect(holds.map((h) => h.user_id)).toEqual(line.slice(0, 6).map((p) => p.id));
    expect(holds.every((h) => h.quantity === 1)).toBe(true);
    expect(await lineOf(event.id)).toEqual(line.slice(6).map((p) => p.id));
    expect(await seatsOf(event.id, outsiders)).toBe(0);
  });

  it('then seats beyond the people in line go on sale, and the line still gets the first ones', async () => {
    const line = people.slice(10, 12);
    const outsiders = people.slice(12);
    const { event, seller, sold } = await soldOut(8, 4, 2, line);
    await expireHoldsOf(event.id);

    const answers = await Promise.all([
      ...sold.map((id) => postOverHttp(t.baseUrl, `/tickets/${id}/cancel`, seller.token)),
      ...outsiders.map((buyer) => bookOverHttp(t.baseUrl, buyer.token, event.id)),
      ...Array.from({ length: 3 }, () => promoteWaitlist(t.testDb.database.db, event.id).then(() => ({ status: 0 }))),
    ]);
    expect(answers.every((a) => a.status < 500)).toBe(true);

    // Six came back, two people waited: they get a hold each; the four others went to outsiders or are still
    // on sale (a cancel may come after the last booking).
    await vi.waitFor(async () => expect((await pendingHoldsOf(event.id)).map((h) => h.user_id)).toEqual(line.map((p) => p.id)), {
      timeout: 10_000,
    });
    const available = (await t.app.inject({ url: `/events/${event.id}` })).json<{ tickets_available: number }>().tickets_available;
    expect((await seatsOf(event.id, outsiders)) + available).toBe(4);
    expect(await lineOf(event.id)).toEqual([]);
  });
});

describe('when a burst of bookings and orders meets expired holds and a waiting list on a nearly sold-out event', () => {
  // Issue 11: PostgreSQL refused such a batch with events_seats_range (13 sold + 4 held of 12) and every
  // buyer in it got a 500. Several rounds, because the refusal needed a statement to wait for the row lock.
  it('then no request fails, nobody outside the line gets a seat the line is owed, and the counters stay exact', async () => {
    for (let round = 0; round < 6; round++) {
      const line = people.slice(10, 12);
      const outsiders = people.slice(12);
      const { event } = await soldOut(12, 0, 4, line);
      await expireHoldsOf(event.id);

      const answers = await Promise.all([
        ...outsiders.map((buyer) => bookOverHttp(t.baseUrl, buyer.token, event.id)),
        ...outsiders.map((buyer, i) => order(buyer, { event_id: event.id, quantity: (i % 2) + 1, hold: i % 3 === 0 })),
        ...Array.from({ length: 2 }, () => promoteWaitlist(t.testDb.database.db, event.id).then(() => ({ status: 0 }))),
      ]);
      expect(answers.filter((a) => a.status >= 500)).toEqual([]);
      // Four seats came back and two people waited: outsiders got at most the two others.
      await vi.waitFor(async () => expect(await pendingHoldsOf(event.id).then((h) => h.filter((x) => line.some((p) => p.id === x.user_id)))).toHaveLength(2), {
        timeout: 10_000,
      });
      expect(await seatsOf(event.id, outsiders)).toBeLessThanOrEqual(2);
    }
  });
});
