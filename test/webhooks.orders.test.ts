import { sql } from 'drizzle-orm';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows, type Database, type Db } from '../src/db/client.js';
import { placeOrders } from '../src/inventory/order-batch.js';
import { settleHolds } from '../src/inventory/settle-batch.js';
import { findOrder } from '../src/orders/repository.js';
import { uniqueEmail } from './helpers/factories.js';
import { createTestDatabase, findInventoryDrift, type TestDatabase } from './helpers/test-db.js';
import { OrderOut, toOrderOut } from '../src/shapes/orders.js';

// The order and confirm batches write their own webhooks (src/outbox/splices.ts), as the other seat
// statements do (test/webhooks.seats.test.ts): in the statement, in the order of the changes, data equal to
// what the API answers for the same rows.
let testDb: TestDatabase;
let database: Database;
let db: Db;
let ownerId: number;
beforeAll(async () => {
  testDb = await createTestDatabase();
  database = testDb.database;
  db = database.db;
  ownerId = (await queryRows<{ id: number }>(db, sql`INSERT INTO users (email, password) VALUES (${uniqueEmail()}, 'x') RETURNING id`))[0]!.id;
});
afterAll(async () => {
  expect(await findInventoryDrift(database)).toEqual([]);
  await testDb.drop();
});

const newEvent = async (total: number) =>
  (
    await queryRows<{ id: number }>(
      db,
      sql`INSERT INTO events (event_name, date, ticket_price, total_tickets, owner_id) VALUES ('Orders', now() + interval '30 days', 20.00, ${total}, ${ownerId}) RETURNING id`,
    )
  )[0]!.id;
const subscribe = (eventId: number) =>
  db.execute(
    sql`INSERT INTO webhook_endpoints (owner_id, event_id, url, events, secret)
        VALUES (${ownerId}, ${eventId}, 'https://example.com/h', '{order.created,order.confirmed,order.expired,ticket.booked,event.sold_out}'::text[], 'whsec_AAAA')`,
  );
const outbox = (eventId: number) => queryRows<{ type: string; data: Record<string, unknown> }>(db, sql`SELECT type, data FROM webhook_outbox WHERE event_id = ${eventId} ORDER BY id`);
const overdue = (orderId: number) => db.execute(sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ${orderId}`);
const apiOrder = async (id: number) => toOrderOut((await findOrder(db, id))!);
const order = (quantity: number, hold: boolean) => ({ userId: ownerId, quantity, hold });
const placedIds = (outcome: Awaited<ReturnType<typeof placeOrders>>) =>
  outcome.kind === 'decided' ? outcome.verdicts.map((v) => (v.kind === 'placed' ? v.placed.order.id : 0)) : [];

describe('the order batch', () => {
  it('when it expires a hold, holds seats, sells seats and takes the last one, then order.expired, order.created, order.confirmed, ticket.booked each, event.sold_out', async () => {
    const eventId = await newEvent(5);
    const [expiring] = placedIds(await placeOrders(database, eventId, [order(2, true)]));
    await overdue(expiring!);
    await subscribe(eventId);
    const [held, sold] = placedIds(await placeOrders(database, eventId, [order(3, true), order(2, false), order(1, false)]));
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type)).toEqual(['order.expired', 'order.created', 'order.confirmed', 'ticket.booked', 'ticket.booked', 'event.sold_out']);
    expect(rows[0]!.data).toMatchObject({ id: expiring, status: 'expired' });
    expect(rows[1]!.data).toEqual(await apiOrder(held!));
    expect(rows[2]!.data).toEqual(await apiOrder(sold!));
    expect(Value.Check(OrderOut, rows[2]!.data)).toBe(true);
    expect(rows.slice(3, 5).map((r) => r.data.id)).toEqual(((await apiOrder(sold!)).tickets as { id: number }[]).map((t) => t.id));
    expect(rows[5]!.data).toMatchObject({ id: eventId, tickets_available: 0 });
  });
});

describe('the confirm batch', () => {
  it('when it confirms one hold and finds another overdue, then order.confirmed with ticket.booked for the one, order.expired for the other', async () => {
    const eventId = await newEvent(5);
    const [running, late] = placedIds(await placeOrders(database, eventId, [order(2, true), order(1, true)]));
    await overdue(late!);
    await subscribe(eventId);
    await settleHolds(database, eventId, [
      { orderId: running!, userId: ownerId },
      { orderId: late!, userId: ownerId },
    ]);
    const rows = await outbox(eventId);
    expect(rows.map((r) => r.type).sort()).toEqual(['order.confirmed', 'order.expired', 'ticket.booked', 'ticket.booked']);
    const confirmed = rows.find((r) => r.type === 'order.confirmed')!;
    expect(confirmed.data).toEqual(await apiOrder(running!));
    expect(rows.find((r) => r.type === 'order.expired')!.data).toMatchObject({ id: late, status: 'expired' });
    // The tickets follow their order.
    expect(rows.findIndex((r) => r.type === 'ticket.booked')).toBeGreaterThan(rows.indexOf(confirmed));
  });
});
