import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { bookSeats, type BookingOutcome } from '../src/inventory/booking-batch.js';
import { placeOrders } from '../src/inventory/order-batch.js';
import { createEvent } from './helpers/factories.js';
import { useInventoryWorld } from './helpers/inventory-world.js';
import { count, seatsOf as seatsOfBuyer } from './helpers/orders.js';

// The booking batch on events with a max_per_user (the counted statement), with crafted batches, against the
// real database. POST /book through HTTP on such events: orders.test.ts, orders.idempotency.test.ts.

const w = useInventoryWorld(4);

const database = () => w.t.testDb.database;
const id = (who: number) => w.users[who]!.id;
const booked = (outcome: BookingOutcome) => {
  if (outcome.kind !== 'booked') throw new Error(`booked, not ${outcome.kind}`);
  return outcome;
};
const seatsOf = (eventId: number, userId: number) => seatsOfBuyer(database(), eventId, userId);

describe('when a batch of bookings meets a per-buyer limit', () => {
  it('then seats owned before (holds included) and earlier bookings of the batch count, and only those past it are refused', async () => {
    const event = await createEvent(w.t.app, w.owner, { total_tickets: 50, max_per_user: 3 });
    await placeOrders(database(), event.id, [{ userId: id(0), quantity: 1, hold: true }]);
    // Not told the event has a limit: the lone statement finds it, sells nothing, and the batch runs counted.
    const outcome = booked(await bookSeats(database(), event.id, [id(0), id(0), id(1), id(0), id(1)]));
    expect(outcome.granted).toBe(4);
    expect(outcome.userLimit).toBe(3);
    expect([...outcome.overLimit]).toEqual([[3, 3]]);
    expect(outcome.tickets.map((ticket) => ticket.user_id).sort()).toEqual([id(0), id(0), id(1), id(1)].sort());
    expect(await seatsOf(event.id, id(0))).toBe(3);
    expect(await seatsOf(event.id, id(1))).toBe(2);
    expect(await count(database(), sql`SELECT count(*)::int AS n FROM orders WHERE event_id = ${event.id} AND status = 'confirmed'`)).toBe(0);
  });

  it('then one past the limit is refused while seats are left, and told Sold Out once they ran out, as the order walk does', async () => {
    const event = await createEvent(w.t.app, w.owner, { total_tickets: 2, max_per_user: 1 });
    const outcome = booked(await bookSeats(database(), event.id, [id(0), id(0), id(1), id(2), id(2)], [], true));
    expect(outcome.granted).toBe(2);
    // Buyer 0's second is refused (a seat was left); buyer 2's second comes after the last seat: sold out.
    expect([...outcome.overLimit]).toEqual([[1, 1]]);
    expect(outcome.event).toMatchObject({ tickets_sold: 2 });
  });

  it('then concurrent batches of the same buyers never pass the limit, and reach it exactly', async () => {
    const event = await createEvent(w.t.app, w.owner, { total_tickets: 500, max_per_user: 7 });
    const batch = [id(2), id(3), id(2)];
    const outcomes = (await Promise.all(Array.from({ length: 12 }, (_, i) => bookSeats(database(), event.id, batch, [], i % 2 === 0)))).map(booked);
    const granted = outcomes.flatMap((outcome) => outcome.tickets.map((ticket) => ticket.user_id));
    expect(granted.filter((user) => user === id(2))).toHaveLength(7);
    expect(granted.filter((user) => user === id(3))).toHaveLength(7);
    expect(await seatsOf(event.id, id(2))).toBe(7);
    expect(await seatsOf(event.id, id(3))).toBe(7);
    const refused = outcomes.reduce((sum, outcome) => sum + outcome.overLimit.size, 0);
    expect(refused).toBe(36 - 14);
  });

  it('then keyed buyers within it are recorded with their seat, one past it is not, and a retry takes no part', async () => {
    const event = await createEvent(w.t.app, w.owner, { total_tickets: 20, max_per_user: 1 });
    const keys = [0, 1, 2].map((i) => ({ index: i, key: `limit-${event.id}-${i}`, requestHash: 'h' }));
    const first = booked(await bookSeats(database(), event.id, [id(0), id(0), id(1)], keys, true));
    expect(first.granted).toBe(2);
    expect([...first.overLimit]).toEqual([[1, 1]]);
    expect([...first.recorded.keys()].sort()).toEqual([`${id(0)} ${keys[0]!.key}`, `${id(1)} ${keys[2]!.key}`].sort());
    const retry = booked(await bookSeats(database(), event.id, [id(1), id(3)], [{ ...keys[2]!, index: 0 }], true));
    expect(retry.recordedBefore).toEqual([0]);
    expect(retry.granted).toBe(1);
    expect(retry.tickets.map((ticket) => ticket.user_id)).toEqual([id(3)]);
    expect(await seatsOf(event.id, id(1))).toBe(1);
  });

  it('then an event without a limit, run counted, sells as the plain batch does', async () => {
    const event = await createEvent(w.t.app, w.owner, { total_tickets: 3 });
    const outcome = booked(await bookSeats(database(), event.id, [id(0), id(0), id(0), id(0)], [], true));
    expect(outcome).toMatchObject({ granted: 3, userLimit: null });
    expect(outcome.overLimit.size).toBe(0);
  });
});
