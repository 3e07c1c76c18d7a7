import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.js';
import { readRecordedSale } from '../src/inventory/idempotency-records.js';
import { settleHolds } from '../src/inventory/settle-batch.js';
import { placeOrders, type OrderBatchOutcome, type OrderInBatch, type OrderVerdict } from '../src/inventory/order-batch.js';
import { createEvent } from './helpers/factories.js';
import { useInventoryWorld } from './helpers/inventory-world.js';
import { expireHold, seatsOf as seatsOfBuyer } from './helpers/orders.js';

// The order batch statement on its own, with crafted batches, against the real database (the batcher that
// gathers real requests into batches is tested through HTTP in orders*.test.ts).

const w = useInventoryWorld(4);

const database = () => w.t.testDb.database;
const order = (who: number, quantity: number, hold = false, key?: string): OrderInBatch => ({
  userId: w.users[who]!.id,
  quantity,
  hold,
  key: key === undefined ? undefined : { key, requestHash: `hash-${key}` },
});
const kinds = (outcome: OrderBatchOutcome) => (outcome.kind === 'decided' ? outcome.verdicts.map((v) => v.kind) : outcome.kind);
const placedOf = (verdict: OrderVerdict | undefined) => (verdict?.kind === 'placed' ? verdict.placed : undefined);
const seatsOf = (eventId: number, userId: number) => seatsOfBuyer(database(), eventId, userId);
const counters = async (eventId: number) =>
  (await queryRows<{ sold: number; held: number }>(database().db, sql`SELECT tickets_sold AS sold, tickets_held AS held FROM events WHERE id = ${eventId}`))[0]!;

describe('when a batch of orders is more than the seats left', () => {
  it('then orders are decided in arrival order, each whole or refused, and a later smaller one may still fit', async () => {
    const event = await createEvent(w.t.app, w.owner, { total_tickets: 10, ticket_price: '12.50' });
    const outcome = await placeOrders(database(), event.id, [order(0, 4), order(1, 4, true), order(2, 4), order(3, 2), order(0, 1)]);
    expect(kinds(outcome)).toEqual(['placed', 'placed', 'sold-out', 'placed', 'sold-out']);
    if (outcome.kind !== 'decided') throw new Error('decided');
    const [first, hold, , fourth] = outcome.verdicts.map(placedOf);
    expect(first!.order).toMatchObject({ status: 'confirmed', quantity: 4, total_price: '50.00', user_id: w.users[0]!.id, expires_at: null });
    expect(first!.tickets.map((ticket) => ticket.user_id)).toEqual([w.users[0]!.id, w.users[0]!.id, w.users[0]!.id, w.users[0]!.id]);
    expect(hold!.order).toMatchObject({ status: 'pending', quantity: 4, total_price: '50.00' });
    expect(hold!.order.expires_at!.getTime()).toBeGreaterThan(Date.now());
    expect(hold!.tickets).toEqual([]);
    expect(fourth!.tickets).toHaveLength(2);
    expect(fourth!.event).toMatchObject({ tickets_sold: 6, tickets_held: 4, total_tickets: 10 });
    expect(await counters(event.id)).toEqual({ sold: 6, held: 4 });
    // Each ticket costs the price at the sale.
    const prices = await queryRows<{ price: string }>(database().db, sql`SELECT DISTINCT price::text AS price FROM tickets WHERE event_id = ${event.id}`);
    expect(prices).toEqual([{ price: '12.50' }]);
  });

  it('then an order above max_per_order is refused with the limit, and the others go on', async () => {
    const event = await createEvent(w.t.app, w.owner, { total_tickets: 10, max_per_order: 3 });
    const outcome = await placeOrders(database(), event.id, [order(0, 4), order(1, 3)]);
    expect(outcome.kind === 'decided' && outcome.verdicts[0]).toEqual({ kind: 'over-order-limit', limit: 3 });
    expect(kinds(outcome)).toEqual(['over-order-limit', 'placed']);
  });

  it('then a batch for an event that does not exist says so', async () => {
    expect(await placeOrders(database(), 2_000_000_000, [order(0, 1)])).toEqual({ kind: 'no-such-event' });
  });
});

describe('when one buyer has several orders in one batch of an event with max_per_user', () => {
  it('then the buyer’s seats before the batch and earlier orders of the batch count, holds included', async () => {
    const event = await createEvent(w.t.app, w.owner, { total_tickets: 50, max_per_user: 4 });
    await placeOrders(database(), event.id, [order(0, 1, true)]);
    // Not told the event has a limit: the statement notices and runs the batch counted.
    const outcome = await placeOrders(database(), event.id, [order(0, 2), order(0, 2, true), order(1, 3), order(0, 1, true), order(1, 2), order(1, 1)]);
    expect(kinds(outcome)).toEqual(['placed', 'over-user-limit', 'placed', 'placed', 'over-user-limit', 'placed']);
    if (outcome.kind !== 'decided') throw new Error('decided');
    expect(outcome.limited).toBe(true);
    expect(outcome.verdicts[1]).toEqual({ kind: 'over-user-limit', limit: 4, owned: 3 });
    expect(outcome.verdicts[4]).toEqual({ kind: 'over-user-limit', limit: 4, owned: 3 });
    expect(await seatsOf(event.id, w.users[0]!.id)).toBe(4);
    expect(await seatsOf(event.id, w.users[1]!.id)).toBe(4);
  });

  it('then concurrent batches of the same buyer never pass the limit, and reach it exactly', async () => {
    const event = await createEvent(w.t.app, w.owner, { total_tickets: 500, max_per_user: 7 });
    const batches = Array.from({ length: 12 }, (_, i) => [order(2, 1 + (i % 2), i % 3 === 0), order(3, 2), order(2, 1)]);
    const outcomes = await Promise.all(batches.map((batch, i) => placeOrders(database(), event.id, batch, i % 2 === 0)));
    const granted = (who: number) =>
      outcomes
        .flatMap((outcome, b) => (outcome.kind === 'decided' ? outcome.verdicts.map((v, i) => (v.kind === 'placed' && batches[b]![i]!.userId === w.users[who]!.id ? v.placed.order.quantity : 0)) : []))
        .reduce((a, b) => a + b, 0);
    expect(await seatsOf(event.id, w.users[2]!.id)).toBe(7);
    expect(await seatsOf(event.id, w.users[3]!.id)).toBe(6);
    expect(granted(2)).toBe(7);
    expect(granted(3)).toBe(6);
  });
});

describe('when overdue holds, holds and immediate orders meet in one batch', () => {
  it('then the overdue holds are expired first and their seats sold in the same statement', async () => {
    const event = await createEvent(w.t.app, w.owner, { total_tickets: 5 });
    const first = await placeOrders(database(), event.id, [order(0, 3, true), order(1, 2, true)]);
    const holdId = placedOf(first.kind === 'decided' ? first.verdicts[0] : undefined)!.order.id;
    await expireHold(database(), holdId);
    const outcome = await placeOrders(database(), event.id, [order(2, 2), order(3, 1, true), order(2, 1)]);
    expect(kinds(outcome)).toEqual(['placed', 'placed', 'sold-out']);
    expect(outcome.kind === 'decided' && outcome.released).toBe(3);
    expect(await counters(event.id)).toEqual({ sold: 2, held: 3 });
    expect((await queryRows<{ status: string }>(database().db, sql`SELECT status FROM orders WHERE id = ${holdId}`))[0]!.status).toBe('expired');
  });
});

describe('when orders of a batch carry Idempotency-Keys', () => {
  it('then each placed one is recorded in the statement, and a retry in a later batch takes no part', async () => {
    const event = await createEvent(w.t.app, w.owner, { total_tickets: 3 });
    const outcome = await placeOrders(database(), event.id, [order(0, 2, false, 'k-a'), order(1, 1, true), order(2, 2, false, 'k-b')]);
    expect(kinds(outcome)).toEqual(['placed', 'placed', 'sold-out']);
    const recorded = await queryRows<{ key: string; order_id: number; response: { order: { id: number; total_price: string }; tickets: unknown[] } }>(
      database().db,
      sql`SELECT key, order_id, response FROM idempotency_keys WHERE key IN ('k-a', 'k-b')`,
    );
    const placed = placedOf(outcome.kind === 'decided' ? outcome.verdicts[0] : undefined)!;
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ key: 'k-a', order_id: placed.order.id, response: { order: { id: placed.order.id, total_price: '100.00' } } });
    expect(recorded[0]!.response.tickets).toHaveLength(2);
    // The answer is the record: the first answer and every replay are the same.
    expect(placed.tickets.map((ticket) => ticket.id)).toEqual((recorded[0]!.response.tickets as { id: number }[]).map((ticket) => ticket.id));
    const retry = await placeOrders(database(), event.id, [order(3, 1), order(0, 2, false, 'k-a')]);
    expect(kinds(retry)).toEqual(['sold-out', 'recorded-before']);
  });
});

describe('when a batch of confirms meets holds running, overdue, already settled and asked twice', () => {
  it('then each running hold is confirmed once with its tickets, each overdue one expired, the rest left alone', async () => {
    const event = await createEvent(w.t.app, w.owner, { total_tickets: 10, ticket_price: '20.00' });
    const held = await placeOrders(database(), event.id, [order(0, 2, true), order(1, 3, true), order(2, 1, true), order(3, 1, true)]);
    const [a, b, c, d] = (held.kind === 'decided' ? held.verdicts : []).map((v) => placedOf(v)!.order.id);
    // The price changed after the holds were made: their tickets keep the old one.
    await database().db.execute(sql`UPDATE events SET ticket_price = 99 WHERE id = ${event.id}`);
    await expireHold(database(), b!);
    await expireHold(database(), d!);
    const confirms = [
      { orderId: a!, userId: w.users[0]!.id, key: { key: 'confirm-a', requestHash: 'h' } },
      { orderId: b!, userId: w.users[1]!.id },
      { orderId: a!, userId: w.users[0]!.id },
      { orderId: c!, userId: w.users[3]!.id },
      { orderId: c!, userId: w.users[2]!.id },
    ];
    const outcome = await settleHolds(database(), event.id, confirms);
    expect(outcome.settled.map((s) => s?.order.status ?? null)).toEqual(['confirmed', 'expired', null, null, 'confirmed']);
    expect(outcome.released).toBe(1); // d: overdue, not asked about
    expect(outcome.settled[0]!.tickets).toHaveLength(2);
    expect(outcome.settled[4]!.event).toMatchObject({ tickets_sold: 3, tickets_held: 0 });
    expect(await counters(event.id)).toEqual({ sold: 3, held: 0 });
    const prices = await queryRows<{ price: string }>(database().db, sql`SELECT DISTINCT price::text AS price FROM tickets WHERE event_id = ${event.id}`);
    expect(prices).toEqual([{ price: '20.00' }]);
    const recorded = await queryRows<{ response: unknown }>(database().db, sql`SELECT response FROM idempotency_keys WHERE key = 'confirm-a'`);
    expect(recorded).toHaveLength(1);
    expect(readRecordedSale(recorded[0]!.response)).toEqual(outcome.settled[0]);
    // Asked again: nothing pending any more.
    expect((await settleHolds(database(), event.id, [{ orderId: a!, userId: w.users[0]!.id }])).settled).toEqual([null]);
  });
});
