import { sql } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import { promoteWaitlist } from '../src/inventory/returns.js';
import { queryRows, type Database } from '../src/db/client.js';
import { buildTestApp, setUpTestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type EventBody, type TestUser } from './helpers/factories.js';
import { expireHold, postOverHttp, type OrderBody } from './helpers/orders.js';
import { tally } from './helpers/tally.js';
import { findInventoryDrift } from './helpers/test-db.js';

interface PlaceBody {
  event_id: number;
  user_id: number;
  position: number;
  created_at: string;
}

const { t, owner } = setUpTestApp({ users: ['owner'], checkInventory: true });

const join = (eventId: number, user: TestUser, app = t.app) =>
  app.inject({ method: 'POST', url: `/events/${eventId}/waitlist`, headers: user.auth });
const leave = (eventId: number, user: TestUser) => t.app.inject({ method: 'DELETE', url: `/events/${eventId}/waitlist`, headers: user.auth });
const place = (eventId: number, user: TestUser) => t.app.inject({ url: `/events/${eventId}/waitlist/me`, headers: user.auth });
const myOrders = async (user: TestUser, app = t.app) => (await app.inject({ url: '/orders', headers: user.auth })).json<OrderBody[]>();
const eventNow = async (eventId: number, app = t.app) => (await app.inject({ url: `/events/${eventId}` })).json<EventBody>();
const buyers = (n: number, app = t.app) => Promise.all(Array.from({ length: n }, () => registerAndLogin(app)));

/** Pending orders of the event, oldest first: the holds promotion created (and any others). */
const holdsOf = (database: Database, eventId: number) =>
  queryRows<{ id: number; user_id: number; quantity: number; expires_at: Date; created_at: Date }>(
    database.db,
    sql`SELECT id, user_id, quantity, expires_at, created_at FROM orders WHERE event_id = ${eventId} AND status = 'pending' ORDER BY id`,
  );
const lineOf = async (database: Database, eventId: number) =>
  (await queryRows<{ user_id: number }>(database.db, sql`SELECT user_id FROM waitlist WHERE event_id = ${eventId} ORDER BY id`)).map((row) => row.user_id);

/** A sold-out event of `seats` seats, all booked by one buyer, and `waiting` buyers in line in that order. */
async function soldOutWithLine(seats: number, waiting: number, fields: Record<string, unknown> = {}) {
  const event = await createEvent(t.app, owner, { total_tickets: seats, ...fields });
  const holder = await registerAndLogin(t.app);
  const bought = await t.app.inject({ method: 'POST', url: '/orders', headers: holder.auth, payload: { event_id: event.id, quantity: seats } });
  expect(bought.statusCode).toBe(200);
  const line = await buyers(waiting);
  for (const buyer of line) expect((await join(event.id, buyer)).statusCode).toBe(201);
  return { event, holder, tickets: bought.json<OrderBody>().tickets, line };
}

describe('POST /events/{id}/waitlist', () => {
  it('when the event is sold out, then buyers join once each and learn their place in line', async () => {
    const { event } = await soldOutWithLine(1, 0);
    const [first, second] = await buyers(2);

    const joined = await join(event.id, first!);
    expect(joined.statusCode).toBe(201);
    expect(joined.json<PlaceBody>()).toMatchObject({ event_id: event.id, user_id: first!.id, position: 1 });
    expect(new Date(joined.json<PlaceBody>().created_at).getTime()).not.toBeNaN();
    expect((await join(event.id, second!)).json<PlaceBody>().position).toBe(2);

    const again = await join(event.id, first!);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual({ detail: 'Already on the waiting list' });
    expect((await place(event.id, second!)).json<PlaceBody>()).toMatchObject({ user_id: second!.id, position: 2 });
  });

  it('when seats are available, then joining is refused: book them instead', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 3 });
    const [buyer] = await buyers(1);
    const response = await join(event.id, buyer!);
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({ detail: 'Tickets are available: book them instead' });
    expect(await lineOf(t.testDb.database, event.id)).toEqual([]);
  });

  it('when the event does not exist or nobody is logged in, then 404 and 401', async () => {
    const [buyer] = await buyers(1);
    expect((await join(2_000_000_000, buyer!)).statusCode).toBe(404);
    expect((await join(2_000_000_000, buyer!)).json()).toEqual({ detail: 'Event not found' });
    const anonymous = await t.app.inject({ method: 'POST', url: '/events/1/waitlist' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('when one buyer joins ten times at once, then they are in line once', async () => {
    const { event } = await soldOutWithLine(1, 0);
    const [buyer] = await buyers(1);
    const answers = await Promise.all(Array.from({ length: 10 }, () => postOverHttp(t.baseUrl, `/events/${event.id}/waitlist`, buyer!.token)));
    expect(tally(answers.map((answer) => answer.status))).toEqual({ 201: 1, 409: 9 });
    expect(await lineOf(t.testDb.database, event.id)).toEqual([buyer!.id]);
  });
});

describe('DELETE /events/{id}/waitlist', () => {
  it('when a buyer leaves, then the ones behind move up, and leaving again is 404', async () => {
    const { event, line } = await soldOutWithLine(1, 3);
    const [first, second, third] = line;
    expect((await leave(event.id, first!)).statusCode).toBe(204);
    expect((await place(event.id, second!)).json<PlaceBody>().position).toBe(1);
    expect((await place(event.id, third!)).json<PlaceBody>().position).toBe(2);

    const again = await leave(event.id, first!);
    expect(again.statusCode).toBe(404);
    expect(again.json()).toEqual({ detail: 'Not on the waiting list' });
    expect((await place(event.id, first!)).statusCode).toBe(404);
  });
});

describe('promotion when seats come back', () => {
  it('when a ticket is cancelled with three people waiting, then exactly the first gets a hold and sees it in GET /orders', async () => {
    const { event, holder, tickets, line } = await soldOutWithLine(1, 3, { hold_minutes: 7 });
    const [first, second, third] = line;

    const cancel = await t.app.inject({ method: 'POST', url: `/tickets/${tickets[0]!.id}/cancel`, headers: holder.auth });
    expect(cancel.statusCode).toBe(200);

    await vi.waitFor(async () => expect(await holdsOf(t.testDb.database, event.id)).toHaveLength(1), { timeout: 10_000 });
    const [hold] = await holdsOf(t.testDb.database, event.id);
    expect(hold).toMatchObject({ user_id: first!.id, quantity: 1 });
    // hold_minutes from the event, counted from when the hold was made.
    expect(new Date(hold!.expires_at).getTime() - new Date(hold!.created_at).getTime()).toBe(7 * 60_000);

    const orders = await myOrders(first!);
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ id: hold!.id, event_id: event.id, status: 'pending', quantity: 1, tickets: [] });
    expect(orders[0]!.expires_at).not.toBeNull();
    expect(await lineOf(t.testDb.database, event.id)).toEqual([second!.id, third!.id]);
    expect((await place(event.id, second!)).json<PlaceBody>().position).toBe(1);
    expect(await myOrders(second!)).toEqual([]);
    expect((await eventNow(event.id)).tickets_available).toBe(0);

    // The hold is an ordinary one: confirming it books the ticket.
    const confirmed = await t.app.inject({ method: 'POST', url: `/orders/${hold!.id}/confirm`, headers: first!.auth });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.json<OrderBody>()).toMatchObject({ status: 'confirmed', tickets: [{ status: 'booked', user_id: first!.id }] });
  });

  it('when a held order is cancelled, then its seats go to the line', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 2 });
    const holder = await registerAndLogin(t.app);
    const held = await t.app.inject({ method: 'POST', url: '/orders', headers: holder.auth, payload: { event_id: event.id, quantity: 2, hold: true } });
    const line = await buyers(3);
    for (const buyer of line) expect((await join(event.id, buyer)).statusCode).toBe(201);

    expect((await t.app.inject({ method: 'POST', url: `/orders/${held.json<OrderBody>().id}/cancel`, headers: holder.auth })).statusCode).toBe(200);

    await vi.waitFor(async () => expect(await holdsOf(t.testDb.database, event.id)).toHaveLength(2), { timeout: 10_000 });
    expect((await holdsOf(t.testDb.database, event.id)).map((hold) => hold.user_id)).toEqual([line[0]!.id, line[1]!.id]);
    expect(await lineOf(t.testDb.database, event.id)).toEqual([line[2]!.id]);
  });

  it('when the owner adds two seats, then the first two in line get a hold each', async () => {
    const { event, line } = await soldOutWithLine(2, 3);
    const patched = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: { total_tickets: 4 } });
    expect(patched.statusCode).toBe(200);

    await vi.waitFor(async () => expect(await holdsOf(t.testDb.database, event.id)).toHaveLength(2), { timeout: 10_000 });
    expect((await holdsOf(t.testDb.database, event.id)).map((hold) => hold.user_id)).toEqual([line[0]!.id, line[1]!.id]);
    expect(await lineOf(t.testDb.database, event.id)).toEqual([line[2]!.id]);
    expect((await place(event.id, line[2]!)).json<PlaceBody>().position).toBe(1);
    expect((await eventNow(event.id)).tickets_available).toBe(0);
  });

  it('when five tickets are cancelled at once with five waiting, then five holds, one each, in line order', async () => {
    const { event, holder, tickets, line } = await soldOutWithLine(5, 5);
    const cancels = await Promise.all(tickets.map((ticket) => postOverHttp(t.baseUrl, `/tickets/${ticket.id}/cancel`, holder.token)));
    expect(tally(cancels.map((answer) => answer.status))).toEqual({ 200: 5 });

    await vi.waitFor(async () => expect(await holdsOf(t.testDb.database, event.id)).toHaveLength(5), { timeout: 10_000 });
    const holds = await holdsOf(t.testDb.database, event.id);
    // Order ids follow creation, so the first five in line got the holds in line order, one seat each.
    expect(holds.map((hold) => hold.user_id)).toEqual(line.map((buyer) => buyer.id));
    expect(holds.every((hold) => hold.quantity === 1)).toBe(true);
    expect(await lineOf(t.testDb.database, event.id)).toEqual([]);
    expect((await eventNow(event.id)).tickets_available).toBe(0);
    expect(await findInventoryDrift(t.testDb.database)).toEqual([]);
  });

  it('when ten promotions of one event run at once (as from several processes), then each free seat goes once, in line order', async () => {
    const { event, line } = await soldOutWithLine(2, 8);
    // Capacity raised behind the app's back, so that nothing in this process has promoted yet.
    await t.testDb.database.db.execute(sql`UPDATE events SET total_tickets = total_tickets + 5 WHERE id = ${event.id}`);
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => promoteWaitlist(t.testDb.database.db, event.id)));

    expect(outcomes.reduce((sum, outcome) => sum + outcome.holds.length, 0)).toBe(5);
    expect((await holdsOf(t.testDb.database, event.id)).map((hold) => hold.user_id)).toEqual(line.slice(0, 5).map((buyer) => buyer.id));
    expect(await lineOf(t.testDb.database, event.id)).toEqual(line.slice(5).map((buyer) => buyer.id));
    expect((await eventNow(event.id)).tickets_available).toBe(0);
  });

  it('when more seats come back than people wait, then everyone waiting gets one and the rest stay on sale', async () => {
    const { event, holder, line } = await soldOutWithLine(4, 2);
    const order = (await myOrders(holder))[0]!;
    expect((await t.app.inject({ method: 'POST', url: `/orders/${order.id}/cancel`, headers: holder.auth })).statusCode).toBe(200);

    await vi.waitFor(async () => expect(await holdsOf(t.testDb.database, event.id)).toHaveLength(2), { timeout: 10_000 });
    expect((await holdsOf(t.testDb.database, event.id)).map((hold) => hold.user_id)).toEqual(line.map((buyer) => buyer.id));
    expect((await eventNow(event.id)).tickets_available).toBe(2);
  });
});

describe('promotion when a hold expires', () => {
  it('when a hold runs out, then the sweeper gives its seat to the next in line, and again when that hold runs out', async () => {
    const quick = await buildTestApp({ HOLD_SWEEP_SECONDS: '1' });
    try {
      const organizer = await registerAndLogin(quick.app);
      const event = await createEvent(quick.app, organizer, { total_tickets: 1 });
      const holder = await registerAndLogin(quick.app);
      const held = await quick.app.inject({ method: 'POST', url: '/orders', headers: holder.auth, payload: { event_id: event.id, quantity: 1, hold: true } });
      expect(held.statusCode).toBe(200);
      const [first, second] = await buyers(2, quick.app);
      expect((await join(event.id, first!, quick.app)).statusCode).toBe(201);
      expect((await join(event.id, second!, quick.app)).statusCode).toBe(201);

      await expireHold(quick.testDb.database, held.json<OrderBody>().id);
      await vi.waitFor(async () => expect((await myOrders(first!, quick.app)).map((order) => order.status)).toEqual(['pending']), {
        timeout: 15_000,
        interval: 100,
      });
      expect(await lineOf(quick.testDb.database, event.id)).toEqual([second!.id]);

      await expireHold(quick.testDb.database, (await myOrders(first!, quick.app))[0]!.id);
      await vi.waitFor(async () => expect((await myOrders(second!, quick.app)).map((order) => order.status)).toEqual(['pending']), {
        timeout: 15_000,
        interval: 100,
      });
      expect((await myOrders(first!, quick.app)).map((order) => order.status)).toEqual(['expired']);
      expect(await lineOf(quick.testDb.database, event.id)).toEqual([]);
      expect((await eventNow(event.id, quick.app)).tickets_available).toBe(0);
      expect(await findInventoryDrift(quick.testDb.database)).toEqual([]);
    } finally {
      await quick.close();
    }
  });
});
