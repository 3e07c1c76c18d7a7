import { sql } from 'drizzle-orm';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTicketWithEvent } from '../src/inventory/reads.js';
import { queryRows, transaction, type Database, type Db } from '../src/db/client.js';
import { bookSeats } from '../src/inventory/booking-batch.js';
import { lockEventReleasingExpiredHolds } from '../src/inventory/hold-expiry.js';
import { placeOrders, type OrderVerdict } from '../src/inventory/order-batch.js';
import { cancelOrder, cancelTicket, promoteWaitlist } from '../src/inventory/returns.js';
import { findOrder } from '../src/orders/repository.js';
import { joinWaitlist } from '../src/waitlist/repository.js';
import { createTestDatabase, findInventoryDrift, type TestDatabase } from './helpers/test-db.js';
import { uniqueEmail } from './helpers/factories.js';
import { TicketOut, toTicketOut } from '../src/shapes/tickets.js';
import { EventOut } from '../src/shapes/events.js';
import { OrderOut, toOrderOut } from '../src/shapes/orders.js';

// The seat statements that write their own webhooks (src/inventory/ with src/outbox/splices.ts), called as
// the services call them, on a real database: one outbox row per change and subscribed endpoint, in the
// order of the changes, data equal to what the API answers for the same rows; nothing without a subscriber,
// nothing for a change that rolled back.
let testDb: TestDatabase;
let database: Database;
let db: Db;
let ownerId: number;
beforeAll(async () => {
  testDb = await createTestDatabase();
  database = testDb.database;
  db = database.db;
  ownerId = await newUser();
});
afterAll(async () => {
  expect(await findInventoryDrift(database)).toEqual([]);
  await testDb.drop();
});

async function newUser(): Promise<number> {
  const rows = await queryRows<{ id: number }>(db, sql`INSERT INTO users (email, password) VALUES (${uniqueEmail()}, 'x') RETURNING id`);
  return rows[0]!.id;
}

async function newEvent(totalTickets: number): Promise<number> {
  const rows = await queryRows<{ id: number }>(
    db,
    sql`INSERT INTO events (event_name, date, ticket_price, total_tickets, owner_id) VALUES ('Seats', now() + interval '30 days', 20.00, ${totalTickets}, ${ownerId}) RETURNING id`,
  );
  return rows[0]!.id;
}

const EVERY_TYPE = ['order.created', 'order.confirmed', 'order.cancelled', 'order.expired', 'ticket.booked', 'ticket.cancelled', 'waitlist.offered', 'event.sold_out'];

async function subscribe(eventId: number, events = EVERY_TYPE): Promise<number> {
  const rows = await queryRows<{ id: number }>(
    db,
    sql`INSERT INTO webhook_endpoints (owner_id, event_id, url, events, secret) VALUES (${ownerId}, ${eventId}, 'https://example.com/h', ${`{${events.join(',')}}`}::text[], 'whsec_AAAA') RETURNING id`,
  );
  return rows[0]!.id;
}

type OutboxRow = { endpoint_id: number; type: string; data: Record<string, unknown> };
const outbox = (eventId: number) => queryRows<OutboxRow>(db, sql`SELECT endpoint_id, type, data FROM webhook_outbox WHERE event_id = ${eventId} ORDER BY id`);
const types = async (eventId: number) => (await outbox(eventId)).map((r) => r.type);
const apiOrder = async (id: number) => toOrderOut((await findOrder(db, id))!);
const apiTicket = async (id: number) => toTicketOut((await findTicketWithEvent(db, id))!);
const overdue = (orderId: number) => db.execute(sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ${orderId}`);

/** One order in a batch of its own (the order batch statement, as the OrderBatcher sends it). */
async function placeOrder(eventId: number, quantity: number, hold: boolean): Promise<OrderVerdict> {
  const outcome = await placeOrders(database, eventId, [{ userId: ownerId, quantity, hold }]);
  if (outcome.kind !== 'decided') throw new Error(outcome.kind);
  return outcome.verdicts[0]!;
}

async function hold(eventId: number, quantity = 1): Promise<number> {
  const placed = await placeOrder(eventId, quantity, true);
  if (placed.kind !== 'placed') throw new Error(`no hold: ${placed.kind}`);
  return placed.placed.order.id;
}

describe('the booking batch (POST /book)', () => {
  it('when nobody is subscribed to the event, then the batch writes no outbox row', async () => {
    const eventId = await newEvent(2);
    await subscribe(await newEvent(2));
    const outcome = await bookSeats(database, eventId, [ownerId, ownerId]);
    expect(outcome).toMatchObject({ kind: 'booked', granted: 2 });
    expect(await outbox(eventId)).toEqual([]);
  });

  it('when holds expire on the way and the batch sells the last seats, then order.expired, ticket.booked each, event.sold_out, in that order', async () => {
    const eventId = await newEvent(4);
    const expiring = await hold(eventId, 2);
    await overdue(expiring);
    const endpoint = await subscribe(eventId);
    await subscribe(eventId, ['ticket.checked_in']);
    const buyer = await newUser();
    const first = await bookSeats(database, eventId, [buyer, ownerId, buyer]);
    expect(first).toMatchObject({ kind: 'booked', granted: 3, released: 2 });
    expect(await types(eventId)).toEqual(['order.expired', 'ticket.booked', 'ticket.booked', 'ticket.booked']);
    await bookSeats(database, eventId, [ownerId, buyer]);
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type)).toEqual(['order.expired', 'ticket.booked', 'ticket.booked', 'ticket.booked', 'ticket.booked', 'event.sold_out']);
    expect(rows.every((r) => r.endpoint_id === endpoint)).toBe(true);
    expect(rows[0]!.data).toEqual({ ...(await apiOrder(expiring)), event: rows[0]!.data.event });
    expect(rows[0]!.data).toMatchObject({ status: 'expired', expires_at: null });
    const tickets = rows.filter((r) => r.type === 'ticket.booked');
    // The event in each ticket is the row after its batch, as the API answered that batch's buyers.
    expect(tickets.map((r) => (r.data.event as { tickets_available: number }).tickets_available)).toEqual([1, 1, 1, 0]);
    for (const row of tickets) {
      expect(Value.Check(TicketOut, row.data)).toBe(true);
      expect(row.data).toEqual({ ...(await apiTicket(row.data.id as number)), event: row.data.event });
    }
    expect(tickets.at(-1)!.data).toEqual(await apiTicket(tickets.at(-1)!.data.id as number));
    expect(Value.Check(EventOut, rows[5]!.data)).toBe(true);
    expect(rows[5]!.data).toMatchObject({ id: eventId, tickets_sold: 4, tickets_available: 0 });
  });

  it('when the batch carries Idempotency-Keys, then its tickets are announced the same way', async () => {
    const eventId = await newEvent(5);
    await subscribe(eventId, ['ticket.booked']);
    const outcome = await bookSeats(database, eventId, [ownerId, ownerId], [{ index: 1, key: `k-${eventId}`, requestHash: 'h' }]);
    expect(outcome).toMatchObject({ kind: 'booked', granted: 2 });
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type)).toEqual(['ticket.booked', 'ticket.booked']);
    for (const row of rows) expect(row.data).toEqual(await apiTicket(row.data.id as number));
  });
});

describe('seats that come back', () => {
  it('when a ticket is cancelled, then one ticket.cancelled equal to the API’s ticket; a second cancel sends nothing', async () => {
    const eventId = await newEvent(3);
    const booked = await bookSeats(database, eventId, [ownerId]);
    const ticketId = booked.kind === 'booked' ? booked.tickets[0]!.id : 0;
    await subscribe(eventId);
    expect(await cancelTicket(db, ticketId, ownerId)).not.toBeNull();
    expect(await cancelTicket(db, ticketId, ownerId)).toBeNull();
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type)).toEqual(['ticket.cancelled']);
    expect(rows[0]!.data).toEqual(await apiTicket(ticketId));
    expect(rows[0]!.data).toMatchObject({ status: 'cancelled', event: { tickets_sold: 0, tickets_available: 3 } });
  });

  it('when a hold is cancelled, then order.cancelled; when a confirmed order is, then order.cancelled with all its tickets, then ticket.cancelled for each it cancelled', async () => {
    const eventId = await newEvent(10);
    const held = await hold(eventId, 2);
    const placed = await placeOrder(eventId, 3, false);
    if (placed.kind !== 'placed') throw new Error(placed.kind);
    const [early, ...rest] = placed.placed.tickets;
    expect(await cancelTicket(db, early!.id, ownerId)).not.toBeNull();
    await subscribe(eventId);
    expect(await cancelOrder(db, held, ownerId, 'pending')).toMatchObject({ kind: 'cancelled', seats: 2 });
    expect(await cancelOrder(db, placed.placed.order.id, ownerId, 'confirmed')).toMatchObject({ kind: 'cancelled', seats: 2 });
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type)).toEqual(['order.cancelled', 'order.cancelled', 'ticket.cancelled', 'ticket.cancelled']);
    expect(rows[0]!.data).toEqual({ ...(await apiOrder(held)), event: rows[0]!.data.event });
    expect(rows[1]!.data).toEqual(await apiOrder(placed.placed.order.id));
    expect(Value.Check(OrderOut, rows[1]!.data)).toBe(true);
    expect((rows[1]!.data.tickets as { id: number; status: string }[]).map((t) => [t.id, t.status])).toEqual(placed.placed.tickets.map((t) => [t.id, 'cancelled']));
    expect(rows.slice(2).map((r) => r.data.id)).toEqual(rest.map((t) => t.id));
    for (const row of rows.slice(2)) expect(row.data).toEqual(await apiTicket(row.data.id as number));
  });

  it('when the sweeper expires overdue holds, then one order.expired each, equal to the API’s order', async () => {
    const eventId = await newEvent(10);
    const orders = [await hold(eventId, 1), await hold(eventId, 2), await hold(eventId, 1)];
    await overdue(orders[0]!);
    await overdue(orders[1]!);
    await subscribe(eventId);
    expect(await lockEventReleasingExpiredHolds(db, eventId)).toMatchObject({ released: 3 });
    expect(await lockEventReleasingExpiredHolds(db, eventId)).toMatchObject({ released: 0 });
    const rows = await outbox(eventId);
    expect(rows.map((r) => [r.type, r.data.id])).toEqual([
      ['order.expired', orders[0]],
      ['order.expired', orders[1]],
    ]);
    for (const row of rows) expect(row.data).toEqual(await apiOrder(row.data.id as number));
  });

  it('when seats come back to a waiting list, then order.expired for holds expired on the way, then waitlist.offered per hold in line order', async () => {
    const eventId = await newEvent(2);
    const expiring = await hold(eventId, 1);
    await bookSeats(database, eventId, [ownerId]);
    const line = [await newUser(), await newUser(), await newUser()];
    await overdue(expiring);
    for (const user of line) expect(await joinWaitlist(db, eventId, user)).toMatchObject({ kind: 'joined' });
    await subscribe(eventId);
    const booked = await queryRows<{ id: number }>(db, sql`SELECT id FROM tickets WHERE event_id = ${eventId}`);
    await cancelTicket(db, booked[0]!.id, ownerId);
    const promotion = await promoteWaitlist(db, eventId);
    expect(promotion.holds.map((h) => h.userId)).toEqual(line.slice(0, 2));
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type)).toEqual(['ticket.cancelled', 'order.expired', 'waitlist.offered', 'waitlist.offered']);
    expect(rows[1]!.data).toMatchObject({ id: expiring, status: 'expired' });
    const offered = rows.slice(2);
    expect(offered.map((r) => r.data.user_id)).toEqual(line.slice(0, 2));
    for (const row of offered) {
      expect(Value.Check(OrderOut, row.data)).toBe(true);
      expect(row.data).toEqual(await apiOrder(row.data.id as number));
      expect(row.data).toMatchObject({ status: 'pending', quantity: 1, tickets: [] });
    }
  });

  it('when the change rolls back, then its webhook is gone with it', async () => {
    const eventId = await newEvent(3);
    const booked = await bookSeats(database, eventId, [ownerId]);
    const ticketId = booked.kind === 'booked' ? booked.tickets[0]!.id : 0;
    await subscribe(eventId);
    await expect(
      transaction(db, async (tx) => {
        expect(await cancelTicket(tx, ticketId, ownerId)).not.toBeNull();
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await outbox(eventId)).toEqual([]);
    expect((await apiTicket(ticketId)).status).toBe('booked');
  });
});
