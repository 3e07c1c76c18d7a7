import { sql } from 'drizzle-orm';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTicketWithEvent } from '../src/inventory/reads.js';
import { queryRows, type Db } from '../src/db/client.js';
import { EXPIRE_OVERDUE_HOLDS_OF_EV } from '../src/inventory/fragments.js';
import { findOrder } from '../src/orders/repository.js';
import { expiredHoldsWebhooks, holdSettledWebhooks, orderPlacedWebhooks } from '../src/outbox/splices.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { uniqueEmail } from './helpers/factories.js';
import { TicketOut, toTicketOut } from '../src/shapes/tickets.js';
import { EVENT_COLUMN_LIST } from '../src/db/rows.js';
import { EventOut } from '../src/shapes/events.js';
import { OrderOut, toOrderOut } from '../src/shapes/orders.js';

// The splices for the orders statements (the order and confirm batches splice them with their own relation
// names), each run inside a small statement of the same shape, on a real database: valid SQL, one row per
// subscribed endpoint, in order, data equal to what the API answers for the same rows, nothing when no
// endpoint is subscribed. (The wired statements are tested end to end in webhooks.seats.test.ts and
// webhooks.orders.test.ts.)
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
const apiOrder = async (id: number) => toOrderOut((await findOrder(db, id))!);
const apiTicket = async (id: number) => toTicketOut((await findTicketWithEvent(db, id))!);

// placeOrderAtOnce's shape: lock, expire overdue holds, place (hold or immediate), count, issue tickets.
const placeStatement = (eventId: number, userId: number, quantity: number, hold: boolean) => `
  WITH ev AS (SELECT ${EVENT_COLUMN_LIST} FROM events e WHERE e.id = ${eventId} FOR UPDATE
  ), expired AS (${EXPIRE_OVERDUE_HOLDS_OF_EV}
  ), freed AS (SELECT COALESCE(sum(quantity), 0)::int AS seats FROM expired
  ), placed AS (
    INSERT INTO orders (event_id, user_id, status, quantity, total_price, expires_at)
    SELECT ev.id, ${userId}, '${hold ? 'pending' : 'confirmed'}', ${quantity}, ev.ticket_price * ${quantity},
           CASE WHEN ${hold} THEN now() + ev.hold_minutes * interval '1 minute' END FROM ev
    RETURNING *
  ), counted AS (
    UPDATE events e SET total_tickets = ev.total_tickets, tickets_sold = ev.tickets_sold + ${hold ? 0 : quantity},
                        tickets_held = ev.tickets_held - freed.seats + ${hold ? quantity : 0}
    FROM ev, freed, placed WHERE e.id = placed.event_id RETURNING ${EVENT_COLUMN_LIST}
  ), issued AS (
    INSERT INTO tickets (event_id, user_id, status, order_id, price)
    SELECT placed.event_id, placed.user_id, 'booked', placed.id, round(placed.total_price / placed.quantity, 2)
    FROM placed, generate_series(1, placed.quantity) WHERE placed.status = 'confirmed'
    RETURNING *
  ), ${expiredHoldsWebhooks('counted')}, ${orderPlacedWebhooks({ after: ['wh_expired'] })}
  SELECT id FROM placed`;

// settleHold's shape: confirm the hold, or expire it if overdue.
const settleStatement = (orderId: number) => `
  WITH settled AS (
    UPDATE orders o SET status = CASE WHEN o.expires_at > now() THEN 'confirmed' ELSE 'expired' END
    WHERE o.id = ${orderId} AND o.status = 'pending' RETURNING o.*
  ), moved AS (
    UPDATE events e SET tickets_held = e.tickets_held - s.quantity,
                        tickets_sold = e.tickets_sold + CASE WHEN s.status = 'confirmed' THEN s.quantity ELSE 0 END
    FROM settled s WHERE e.id = s.event_id RETURNING ${EVENT_COLUMN_LIST}
  ), issued AS (
    INSERT INTO tickets (event_id, user_id, status, order_id, price)
    SELECT s.event_id, s.user_id, 'booked', s.id, round(s.total_price / s.quantity, 2) FROM settled s, generate_series(1, s.quantity)
    WHERE s.status = 'confirmed'
    RETURNING *
  ), ${holdSettledWebhooks()}
  SELECT 1`;

const ALL_ORDER_TYPES = ['order.created', 'order.confirmed', 'order.expired', 'ticket.booked', 'event.sold_out'];

describe('orderPlacedWebhooks (POST /orders)', () => {
  it('when nobody is subscribed to the event, then placing orders writes no outbox row', async () => {
    const eventId = await newEvent(5);
    const other = await newEvent(5);
    await subscribe(ALL_ORDER_TYPES, other);
    await run(placeStatement(eventId, ownerId, 2, true));
    await run(placeStatement(eventId, ownerId, 2, false));
    expect(await outbox(eventId)).toEqual([]);
  });

  it('when a hold and an order are placed, then order.created and order.confirmed with its ticket.booked equal the API’s answers, in that order', async () => {
    const eventId = await newEvent(10);
    const endpoint = await subscribe(ALL_ORDER_TYPES, eventId);
    await subscribe(['ticket.checked_in'], eventId);
    await run(placeStatement(eventId, ownerId, 2, true));
    const [created] = await outbox(eventId);
    expect(created!.data).toEqual(await apiOrder(created!.data.id as number));
    expect(created!.data.status).toBe('pending');
    await run(placeStatement(eventId, ownerId, 2, false));
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type)).toEqual(['order.created', 'order.confirmed', 'ticket.booked', 'ticket.booked']);
    expect(rows.every((r) => r.endpoint_id === endpoint)).toBe(true);
    const [, confirmed, ...booked] = rows;
    expect(Value.Check(OrderOut, confirmed!.data)).toBe(true);
    expect(confirmed!.data).toEqual(await apiOrder(confirmed!.data.id as number));
    expect((confirmed!.data.tickets as { id: number }[]).map((t) => t.id)).toEqual(booked.map((r) => r.data.id));
    for (const row of booked) {
      expect(Value.Check(TicketOut, row.data)).toBe(true);
      expect(row.data).toEqual(await apiTicket(row.data.id as number));
    }
  });

  it('when holds expire on the way and the order takes the last seats, then order.expired comes first and event.sold_out last', async () => {
    const eventId = await newEvent(3);
    await run(placeStatement(eventId, ownerId, 2, true));
    await db.execute(sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE event_id = ${eventId}`);
    const [hold] = await queryRows<{ id: number }>(db, sql`SELECT id FROM orders WHERE event_id = ${eventId}`);
    await subscribe(ALL_ORDER_TYPES, eventId);
    await run(placeStatement(eventId, ownerId, 3, false));
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type)).toEqual(['order.expired', 'order.confirmed', 'ticket.booked', 'ticket.booked', 'ticket.booked', 'event.sold_out']);
    expect(rows[0]!.data).toEqual(await apiOrder(hold!.id));
    expect(rows[0]!.data).toMatchObject({ status: 'expired', expires_at: null, tickets: [] });
    expect(Value.Check(EventOut, rows[5]!.data)).toBe(true);
    expect(rows[5]!.data).toMatchObject({ id: eventId, tickets_sold: 3, tickets_available: 0 });
  });
});

describe('holdSettledWebhooks (confirming a hold)', () => {
  it('when a hold is confirmed, then order.confirmed with its tickets, then ticket.booked each, equal to the API’s', async () => {
    const eventId = await newEvent(10);
    await run(placeStatement(eventId, ownerId, 2, true));
    const [hold] = await queryRows<{ id: number }>(db, sql`SELECT id FROM orders WHERE event_id = ${eventId}`);
    await subscribe(ALL_ORDER_TYPES, eventId);
    await run(settleStatement(hold!.id));
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type)).toEqual(['order.confirmed', 'ticket.booked', 'ticket.booked']);
    expect(rows[0]!.data).toEqual(await apiOrder(hold!.id));
    for (const row of rows.slice(1)) expect(row.data).toEqual(await apiTicket(row.data.id as number));
  });

  it('when the hold is overdue at confirm, then one order.expired and no ticket', async () => {
    const eventId = await newEvent(10);
    await run(placeStatement(eventId, ownerId, 1, true));
    const [hold] = await queryRows<{ id: number }>(db, sql`SELECT id FROM orders WHERE event_id = ${eventId}`);
    await db.execute(sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ${hold!.id}`);
    await subscribe(ALL_ORDER_TYPES, eventId);
    await run(settleStatement(hold!.id));
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type)).toEqual(['order.expired']);
    expect(rows[0]!.data).toEqual(await apiOrder(hold!.id));
  });
});
