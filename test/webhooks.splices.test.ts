import { sql } from 'drizzle-orm';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TicketOut } from '../src/bookings/schemas.js';
import { toTicketOut } from '../src/bookings/service.js';
import { findTicketWithEvent } from '../src/bookings/tickets.repository.js';
import { queryRows, type Db } from '../src/db/client.js';
import { EVENT_COLUMN_LIST } from '../src/events/repository.js';
import { EventOut } from '../src/events/schemas.js';
import { findOrder } from '../src/orders/repository.js';
import { OrderOut } from '../src/orders/schemas.js';
import { toOrderOut } from '../src/orders/service.js';
import * as splices from '../src/webhooks/splices.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { uniqueEmail } from './helpers/factories.js';

// The ready-to-splice outbox CTEs (src/webhooks/splices.ts), each run inside a statement of the same shape as
// the inventory statement it is meant for, on a real database: valid SQL, one row per subscribed endpoint,
// data equal to what the API answers for the same rows, and nothing at all when no endpoint is subscribed.
let testDb: TestDatabase;
let db: Db;
let ownerId: number;
beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.database.db;
  ownerId = await newUser();
});
afterAll(() => testDb.drop());

async function newUser(): Promise<number> {
  const rows = await queryRows<{ id: number }>(db, sql`INSERT INTO users (email, password) VALUES (${uniqueEmail()}, 'x') RETURNING id`);
  return rows[0]!.id;
}

async function newEvent(totalTickets: number): Promise<number> {
  const rows = await queryRows<{ id: number }>(
    db,
    sql`INSERT INTO events (event_name, date, ticket_price, total_tickets, owner_id) VALUES ('Splice', now() + interval '30 days', 12.50, ${totalTickets}, ${ownerId}) RETURNING id`,
  );
  return rows[0]!.id;
}

async function subscribe(events: string[], eventId: number): Promise<number> {
  const rows = await queryRows<{ id: number }>(
    db,
    sql`INSERT INTO webhook_endpoints (owner_id, event_id, url, events, secret) VALUES (${ownerId}, ${eventId}, 'https://example.com/h', ${`{${events.join(',')}}`}::text[], 'whsec_AAAA') RETURNING id`,
  );
  return rows[0]!.id;
}

async function outbox(eventId: number): Promise<{ endpoint_id: number; type: string; data: Record<string, unknown> }[]> {
  return queryRows(db, sql`SELECT endpoint_id, type, data FROM webhook_outbox WHERE event_id = ${eventId} ORDER BY id`);
}

const run = (text: string) => db.execute(sql.raw(text));

// The POST /book batch's shape: lock, count, update the event, issue tickets.
const bookStatement = (eventId: number, buyers: number[]) => `
  WITH ev AS (SELECT id, total_tickets - tickets_sold - tickets_held AS free FROM events WHERE id = ${eventId} FOR UPDATE
  ), quota AS (SELECT ev.id, LEAST(${buyers.length}, ev.free) AS granted FROM ev
  ), taken AS (
    UPDATE events e SET tickets_sold = e.tickets_sold + quota.granted FROM quota WHERE e.id = quota.id AND quota.granted > 0
    RETURNING ${EVENT_COLUMN_LIST}
  ), issued AS (
    INSERT INTO tickets (event_id, user_id, status, price)
    SELECT taken.id, buyer.user_id, 'booked', taken.ticket_price FROM taken, quota, unnest('{${buyers.join(',')}}'::int[]) WITH ORDINALITY AS buyer(user_id, ord)
    WHERE buyer.ord <= quota.granted
    RETURNING id, user_id, purchase_date, code
  ), ${splices.TICKET_BOOKED_IN_BOOK_SEATS}, ${splices.SOLD_OUT_IN_BOOK_SEATS}
  SELECT count(*) FROM issued`;

describe('the booking batch splice (ticket.booked, event.sold_out)', () => {
  it('when nobody is subscribed, then the batch writes no outbox row', async () => {
    const eventId = await newEvent(2);
    await run(bookStatement(eventId, [ownerId, ownerId]));
    expect(await outbox(eventId)).toEqual([]);
  });

  it('when an endpoint is subscribed, then each ticket is one ticket.booked equal to the API’s ticket, and the last seat one event.sold_out', async () => {
    const eventId = await newEvent(3);
    const endpoint = await subscribe(['ticket.booked', 'event.sold_out'], eventId);
    const other = await subscribe(['ticket.checked_in'], eventId);
    const buyer = await newUser();
    await run(bookStatement(eventId, [buyer, ownerId]));
    await run(bookStatement(eventId, [buyer, ownerId]));
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type)).toEqual(['ticket.booked', 'ticket.booked', 'ticket.booked', 'event.sold_out']);
    expect(rows.every((r) => r.endpoint_id === endpoint && r.endpoint_id !== other)).toBe(true);
    for (const row of rows.slice(0, 3)) {
      expect(Value.Check(TicketOut, row.data)).toBe(true);
      const ticket = await findTicketWithEvent(db, row.data.id as number);
      // The event in the payload is the row after that batch; the first two tickets' batch left 1 seat.
      expect(row.data).toEqual({ ...toTicketOut(ticket!), event: row.data.event });
    }
    expect((rows[0]!.data.event as { tickets_available: number }).tickets_available).toBe(1);
    expect(Value.Check(EventOut, rows[3]!.data)).toBe(true);
    expect(rows[3]!.data).toMatchObject({ id: eventId, tickets_sold: 3, tickets_available: 0 });
  });
});

describe('the other splices', () => {
  it('when a ticket is cancelled with the splice, then ticket.cancelled equals the API’s cancelled ticket', async () => {
    const eventId = await newEvent(5);
    await subscribe(['ticket.cancelled'], eventId);
    await run(bookStatement(eventId, [ownerId]));
    const [ticket] = await queryRows<{ id: number }>(db, sql`SELECT id FROM tickets WHERE event_id = ${eventId}`);
    await run(`
      WITH ev AS (SELECT e.id FROM events e JOIN tickets t ON t.event_id = e.id WHERE t.id = ${ticket!.id} AND t.status = 'booked' FOR UPDATE OF e
      ), cancelled AS (
        UPDATE tickets t SET status = 'cancelled' FROM ev WHERE t.id = ${ticket!.id} AND t.status = 'booked' AND t.event_id = ev.id
        RETURNING t.id, t.event_id, t.user_id, t.status, t.purchase_date, t.code, t.checked_in_at
      ), released AS (
        UPDATE events e SET tickets_sold = e.tickets_sold - 1 FROM cancelled WHERE e.id = cancelled.event_id RETURNING ${EVENT_COLUMN_LIST}
      ), ${splices.TICKET_CANCELLED_IN_CANCEL_TICKET}
      SELECT 1`);
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type)).toEqual(['ticket.cancelled']);
    expect(rows[0]!.data).toEqual(toTicketOut((await findTicketWithEvent(db, ticket!.id))!));
  });

  // The POST /orders statement's shape: placed (order), counted (event after), issued (tickets).
  const placeStatement = (eventId: number, userId: number, quantity: number, hold: boolean) => `
    WITH ev AS (SELECT ${EVENT_COLUMN_LIST} FROM events e WHERE e.id = ${eventId} FOR UPDATE
    ), placed AS (
      INSERT INTO orders (event_id, user_id, status, quantity, total_price, expires_at)
      SELECT ev.id, ${userId}, '${hold ? 'pending' : 'confirmed'}', ${quantity}, ev.ticket_price * ${quantity},
             CASE WHEN ${hold} THEN now() + ev.hold_minutes * interval '1 minute' END FROM ev
      RETURNING *
    ), counted AS (
      UPDATE events e SET tickets_sold = e.tickets_sold + ${hold ? 0 : quantity}, tickets_held = e.tickets_held + ${hold ? quantity : 0}
      FROM placed WHERE e.id = placed.event_id RETURNING ${EVENT_COLUMN_LIST}
    ), issued AS (
      INSERT INTO tickets (event_id, user_id, status, order_id, price)
      SELECT placed.event_id, placed.user_id, 'booked', placed.id, round(placed.total_price / placed.quantity, 2) FROM placed, generate_series(1, placed.quantity) WHERE placed.status = 'confirmed'
      RETURNING *
    ), ${splices.ORDER_PLACED_IN_PLACE_ORDER}
    SELECT id FROM placed`;

  it('when orders are placed with the splice, then order.created (hold), order.confirmed and ticket.booked equal the API’s', async () => {
    const eventId = await newEvent(10);
    await subscribe(['order.created', 'order.confirmed', 'ticket.booked'], eventId);
    await run(placeStatement(eventId, ownerId, 2, true));
    const rowsAfterHold = await outbox(eventId);
    expect(rowsAfterHold.map((r) => r.type)).toEqual(['order.created']);
    const hold = await findOrder(db, rowsAfterHold[0]!.data.id as number);
    expect(rowsAfterHold[0]!.data).toEqual(toOrderOut(hold!));
    await run(placeStatement(eventId, ownerId, 2, false));
    const rows = (await outbox(eventId)).slice(1);
    expect(rows.map((r) => r.type)).toEqual(['order.confirmed', 'ticket.booked', 'ticket.booked']);
    const confirmed = rows.find((r) => r.type === 'order.confirmed')!;
    expect(Value.Check(OrderOut, confirmed.data)).toBe(true);
    expect(confirmed.data).toEqual(toOrderOut((await findOrder(db, confirmed.data.id as number))!));
  });

  it('when the remaining splices run in statements of their shape, then each writes its type with data in the API’s shape', async () => {
    const eventId = await newEvent(10);
    await subscribe(['order.confirmed', 'order.expired', 'order.cancelled', 'waitlist.offered'], eventId);
    await run(placeStatement(eventId, ownerId, 1, true));
    const [order] = await queryRows<{ id: number }>(db, sql`SELECT id FROM orders WHERE event_id = ${eventId}`);
    // settleHold's shape (confirm).
    await run(`
      WITH settled AS (UPDATE orders o SET status = 'confirmed' WHERE o.id = ${order!.id} AND o.status = 'pending' RETURNING o.*
      ), moved AS (
        UPDATE events e SET tickets_held = e.tickets_held - s.quantity, tickets_sold = e.tickets_sold + s.quantity FROM settled s WHERE e.id = s.event_id
        RETURNING ${EVENT_COLUMN_LIST}
      ), issued AS (
        INSERT INTO tickets (event_id, user_id, status, order_id, price) SELECT s.event_id, s.user_id, 'booked', s.id, round(s.total_price / s.quantity, 2) FROM settled s, generate_series(1, s.quantity)
        RETURNING *
      ), ${splices.ORDER_SETTLED_IN_SETTLE_HOLD}
      SELECT 1`);
    // cancelOrder's shape, with the RETURNING the splice asks for.
    await run(`
      WITH cancelled AS (UPDATE orders o SET status = 'cancelled' WHERE o.id = ${order!.id} RETURNING o.*
      ), released AS (UPDATE events e SET tickets_sold = e.tickets_sold - 1 FROM cancelled c WHERE e.id = c.event_id RETURNING ${EVENT_COLUMN_LIST}
      ), ${splices.ORDER_CANCELLED_IN_CANCEL_ORDER}
      SELECT 1`);
    // Expiry inside the booking batch's shape (taken = the event after).
    await run(placeStatement(eventId, ownerId, 1, true));
    await run(`
      WITH expired AS (UPDATE orders o SET status = 'expired' WHERE o.event_id = ${eventId} AND o.status = 'pending' RETURNING o.*
      ), taken AS (UPDATE events e SET tickets_held = e.tickets_held - 1 WHERE e.id = ${eventId} RETURNING ${EVENT_COLUMN_LIST}
      ), ${splices.ORDER_EXPIRED_IN_EXPIRY}
      SELECT 1`);
    // promoteWaitlist's shape, with the RETURNING the splice asks for.
    await run(`
      WITH held AS (
        INSERT INTO orders (event_id, user_id, status, quantity, total_price, expires_at)
        VALUES (${eventId}, ${ownerId}, 'pending', 1, 12.50, now() + interval '10 minutes') RETURNING *
      ), counted AS (UPDATE events e SET tickets_held = e.tickets_held + 1 WHERE e.id = ${eventId} RETURNING ${EVENT_COLUMN_LIST}
      ), ${splices.WAITLIST_OFFERED_IN_PROMOTE}
      SELECT 1`);
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type)).toEqual(['order.confirmed', 'order.cancelled', 'order.expired', 'waitlist.offered']);
    for (const row of rows) expect(Value.Check(OrderOut, row.data), JSON.stringify(row.data)).toBe(true);
    expect(rows.map((r) => r.data.status)).toEqual(['confirmed', 'cancelled', 'expired', 'pending']);
    expect((rows[0]!.data.tickets as unknown[]).length).toBe(1);
  });
});
