import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { sweepExpiredHolds } from '../src/orders/sweeper.js';
import { buildTestApp, setUpTestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type EventBody } from './helpers/factories.js';
import { count, expireHold, orderStatus, type OrderBody } from './helpers/orders.js';
import { countBooked } from './helpers/test-db.js';
import { SeatChanges } from '../src/inventory/seat-changes.js';

const { t, owner, buyer } = setUpTestApp({ users: ['owner', 'buyer'], checkInventory: true });

const order = (payload: object, user = buyer) => t.app.inject({ method: 'POST', url: '/orders', headers: user.auth, payload });
const act = (orderId: number, action: 'confirm' | 'cancel', user = buyer) =>
  t.app.inject({ method: 'POST', url: `/orders/${orderId}/${action}`, headers: user.auth });
const book = (eventId: number, user = buyer) => t.app.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: eventId } });
const eventNow = async (eventId: number) => (await t.app.inject({ url: `/events/${eventId}` })).json<EventBody>();

describe('POST /orders (immediate)', () => {
  it('when seats are left, then it books them all at once and answers the Order with its tickets', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 10, ticket_price: '12.50' });
    const response = await order({ event_id: event.id, quantity: 3 });
    expect(response.statusCode).toBe(200);
    const body = response.json<OrderBody>();
    expect(body).toMatchObject({ event_id: event.id, user_id: buyer.id, status: 'confirmed', quantity: 3, total_price: '37.50', expires_at: null });
    expect(body.tickets).toHaveLength(3);
    for (const ticket of body.tickets) expect(ticket).toMatchObject({ status: 'booked', event_id: event.id, user_id: buyer.id });
    expect(body.event).toMatchObject({ tickets_sold: 3, tickets_available: 7 });
    expect(await countBooked(t.testDb.database, event.id)).toBe(3);
  });

  it('when fewer seats remain than asked, then 400 Sold Out and nothing is sold', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 5 });
    expect((await order({ event_id: event.id, quantity: 3 })).statusCode).toBe(200);
    const response = await order({ event_id: event.id, quantity: 3 });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ detail: 'Sold Out' });
    expect(await countBooked(t.testDb.database, event.id)).toBe(3);
    expect(await count(t.testDb.database, sql`SELECT count(*)::int AS n FROM orders WHERE event_id = ${event.id}`)).toBe(1);
  });

  it('when the quantity is above the event’s max_per_order, then 422 naming body.quantity', async () => {
    const event = await createEvent(t.app, owner, { max_per_order: 2 });
    const response = await order({ event_id: event.id, quantity: 3 });
    expect(response.statusCode).toBe(422);
    expect(response.json<{ detail: { loc: string[] }[] }>().detail[0]!.loc).toEqual(['body', 'quantity']);
    expect(await countBooked(t.testDb.database, event.id)).toBe(0);
  });

  it.each([{ quantity: 0 }, { quantity: 101 }, { quantity: 1.5 }, { quantity: 'two' }, {}, { hold: 'maybe', quantity: 1 }])(
    'when the body is %j, then 422',
    async (fields) => {
      const event = await createEvent(t.app, owner);
      expect((await order({ event_id: event.id, ...fields })).statusCode).toBe(422);
    },
  );

  it('when the event does not exist, then 404; without a token, 401', async () => {
    expect((await order({ event_id: 987654, quantity: 1 })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'POST', url: '/orders', payload: { event_id: 1, quantity: 1 } })).statusCode).toBe(401);
  });
});

describe('max_per_user', () => {
  it('when the buyer’s tickets plus held seats would pass it, then 409 and nothing changes', async () => {
    const event = await createEvent(t.app, owner, { max_per_user: 4 });
    expect((await order({ event_id: event.id, quantity: 3 })).statusCode).toBe(200);
    expect((await order({ event_id: event.id, quantity: 1, hold: true })).statusCode).toBe(200);
    const refused = await order({ event_id: event.id, quantity: 1 });
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ detail: string }>().detail).toBe('This event allows 4 tickets per buyer and you already have 4 or more');
    const tooMany = await order({ event_id: event.id, quantity: 2 }, owner);
    expect(tooMany.statusCode).toBe(200);
    expect((await order({ event_id: event.id, quantity: 3 }, owner)).json()).toEqual({ detail: 'This event allows 4 tickets per buyer and you already have 2' });
    expect(await eventNow(event.id)).toMatchObject({ tickets_sold: 5, tickets_available: 94 });
  });

  it('when POST /book is used on such an event, then it books tickets (no order, as without a limit) and stops at the limit with 409', async () => {
    const event = await createEvent(t.app, owner, { max_per_user: 2 });
    const first = await book(event.id);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ status: 'booked', event_id: event.id, user_id: buyer.id, event: { tickets_sold: 1 } });
    expect((await book(event.id)).statusCode).toBe(200);
    const refused = await book(event.id);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toEqual({ detail: 'This event allows 2 tickets per buyer and you already have 2 or more' });
    expect(await countBooked(t.testDb.database, event.id)).toBe(2);
    const orders = await t.app.inject({ method: 'GET', url: '/orders', headers: buyer.auth });
    expect(orders.json<unknown[]>().filter((o) => (o as { event_id: number }).event_id === event.id)).toEqual([]);
  });

  it('when the event has one, then max_per_order, Sold Out and the release of expired holds still apply', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 3, max_per_order: 2, max_per_user: 5 });
    expect((await order({ event_id: event.id, quantity: 3 })).statusCode).toBe(422);
    const hold = (await order({ event_id: event.id, quantity: 2, hold: true })).json<OrderBody>();
    expect((await order({ event_id: event.id, quantity: 2 }, owner)).json()).toEqual({ detail: 'Sold Out' });
    await expireHold(t.testDb.database, hold.id);
    expect((await order({ event_id: event.id, quantity: 2 }, owner)).statusCode).toBe(200);
    expect(await orderStatus(t.testDb.database, hold.id)).toBe('expired');
  });

  // The batch counts a buyer's seats only as deep as the limit: past it, the count says "or more".
  it('when the owner lowers the limit below what a buyer owns, then the next one is 409, "or more"', async () => {
    const event = await createEvent(t.app, owner, { max_per_user: 5 });
    expect((await order({ event_id: event.id, quantity: 3 })).statusCode).toBe(200);
    expect((await order({ event_id: event.id, quantity: 1, hold: true })).statusCode).toBe(200);
    await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: { max_per_user: 2 } });
    const refused = await book(event.id);
    expect(refused.json()).toEqual({ detail: 'This event allows 2 tickets per buyer and you already have 2 or more' });
    expect(await countBooked(t.testDb.database, event.id)).toBe(3);
  });

  it('when the owner removes the limit, then POST /book sells past it again', async () => {
    const event = await createEvent(t.app, owner, { max_per_user: 1 });
    expect((await book(event.id)).statusCode).toBe(200);
    expect((await book(event.id)).statusCode).toBe(409);
    const patched = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: { max_per_user: null } });
    expect(patched.json()).toMatchObject({ max_per_user: null });
    expect((await book(event.id)).statusCode).toBe(200);
  });
});

describe('holds', () => {
  it('when a hold is placed, then its seats leave sale without tickets, and confirm books them', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 10, hold_minutes: 15 });
    const held = await order({ event_id: event.id, quantity: 2, hold: true });
    expect(held.statusCode).toBe(200);
    const hold = held.json<OrderBody>();
    expect(hold).toMatchObject({ status: 'pending', tickets: [], event: { tickets_sold: 0, tickets_available: 8 } });
    const minutesLeft = (Date.parse(hold.expires_at!) - Date.now()) / 60_000;
    expect(minutesLeft).toBeGreaterThan(14);
    expect(minutesLeft).toBeLessThanOrEqual(15);

    const confirmed = await act(hold.id, 'confirm');
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.json<OrderBody>()).toMatchObject({ status: 'confirmed', expires_at: null, event: { tickets_sold: 2, tickets_available: 8 } });
    expect(confirmed.json<OrderBody>().tickets).toHaveLength(2);
    const again = await act(hold.id, 'confirm');
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual({ detail: 'Order is already confirmed' });
  });

  it('when a hold is cancelled, then its seats return; a second cancel is 409', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 3 });
    const hold = (await order({ event_id: event.id, quantity: 3, hold: true })).json<OrderBody>();
    expect((await order({ event_id: event.id, quantity: 1 })).statusCode).toBe(400);
    const cancelled = await act(hold.id, 'cancel');
    expect(cancelled.json<OrderBody>()).toMatchObject({ status: 'cancelled', expires_at: null, event: { tickets_available: 3 } });
    expect((await act(hold.id, 'cancel')).statusCode).toBe(409);
    expect((await act(hold.id, 'confirm')).statusCode).toBe(409);
    expect((await order({ event_id: event.id, quantity: 3 })).statusCode).toBe(200);
  });

  it('when a hold has expired, then confirm answers 409 and its seats are back on sale', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 2 });
    const hold = (await order({ event_id: event.id, quantity: 2, hold: true })).json<OrderBody>();
    await expireHold(t.testDb.database, hold.id);
    const response = await act(hold.id, 'confirm');
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({ detail: 'The hold has expired; its seats were released' });
    expect(await orderStatus(t.testDb.database, hold.id)).toBe('expired');
    expect(await eventNow(event.id)).toMatchObject({ tickets_sold: 0, tickets_available: 2 });
  });

  it('when a hold has expired, then the next order or booking of the event takes its seats (lazy release)', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 2 });
    const first = (await order({ event_id: event.id, quantity: 2, hold: true })).json<OrderBody>();
    await expireHold(t.testDb.database, first.id);
    expect((await order({ event_id: event.id, quantity: 1 }, owner)).statusCode).toBe(200);
    expect(await orderStatus(t.testDb.database, first.id)).toBe('expired');

    const second = (await order({ event_id: event.id, quantity: 1, hold: true })).json<OrderBody>();
    await expireHold(t.testDb.database, second.id);
    expect((await book(event.id, owner)).statusCode).toBe(200); // the batch statement releases it too
    expect(await orderStatus(t.testDb.database, second.id)).toBe('expired');
    expect(await eventNow(event.id)).toMatchObject({ tickets_sold: 2, tickets_available: 0 });
  });

  it('when a hold has expired and nobody buys, then the sweeper returns its seats', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 4 });
    const hold = (await order({ event_id: event.id, quantity: 3, hold: true })).json<OrderBody>();
    await expireHold(t.testDb.database, hold.id);
    expect(await sweepExpiredHolds(t.testDb.database.db, new SeatChanges())).toBeGreaterThanOrEqual(3);
    expect(await eventNow(event.id)).toMatchObject({ tickets_available: 4 });
    expect(await orderStatus(t.testDb.database, hold.id)).toBe('expired');
  });
});

describe('the sweeper in the background', () => {
  it('when a hold expires and nobody calls anything, then its seats come back by themselves', async () => {
    const quick = await buildTestApp({ HOLD_SWEEP_SECONDS: '1' });
    try {
      const seller = await registerAndLogin(quick.app);
      const event = await createEvent(quick.app, seller, { total_tickets: 5 });
      const hold = await quick.app.inject({ method: 'POST', url: '/orders', headers: seller.auth, payload: { event_id: event.id, quantity: 5, hold: true } });
      await expireHold(quick.testDb.database, hold.json<OrderBody>().id);
      // Wait for the outcome (bounded), not for a fixed time.
      const deadline = Date.now() + 20_000;
      let available = 0;
      while (available !== 5 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        available = (await quick.app.inject({ url: `/events/${event.id}` })).json<EventBody>().tickets_available;
      }
      expect(available).toBe(5);
      expect(await orderStatus(quick.testDb.database, hold.json<OrderBody>().id)).toBe('expired');
    } finally {
      await quick.close();
    }
  });
});

describe('POST /orders/{id}/cancel of a confirmed order', () => {
  it('when it is cancelled, then its still-booked tickets are cancelled and each seat returns once', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 3 });
    const placed = (await order({ event_id: event.id, quantity: 3 })).json<OrderBody>();
    expect((await book(event.id)).statusCode).toBe(400); // sold out, now also in this process's memory
    const single = await t.app.inject({ method: 'POST', url: `/tickets/${placed.tickets[0]!.id}/cancel`, headers: buyer.auth });
    expect(single.statusCode).toBe(200);
    const response = await act(placed.id, 'cancel');
    expect(response.statusCode).toBe(200);
    const body = response.json<OrderBody>();
    expect(body.status).toBe('cancelled');
    expect(body.tickets.map((ticket) => ticket.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(body.event).toMatchObject({ tickets_sold: 0, tickets_available: 3 });
    expect((await book(event.id)).statusCode).toBe(200); // the memory was cleared at once
  });

  it('when someone else confirms, cancels or reads it, then 403; an unknown order, 404', async () => {
    const event = await createEvent(t.app, owner);
    const hold = (await order({ event_id: event.id, quantity: 1, hold: true })).json<OrderBody>();
    expect((await act(hold.id, 'confirm', owner)).statusCode).toBe(403);
    expect((await act(hold.id, 'cancel', owner)).statusCode).toBe(403);
    expect((await t.app.inject({ url: `/orders/${hold.id}`, headers: owner.auth })).statusCode).toBe(403);
    expect((await act(99999999, 'confirm')).statusCode).toBe(404);
    expect((await act(99999999, 'cancel')).statusCode).toBe(404);
    expect(await orderStatus(t.testDb.database, hold.id)).toBe('pending');
  });
});

describe('event sales settings', () => {
  it('when the owner sets them on create and edit, then Event responses show them', async () => {
    const event = await createEvent(t.app, owner, { max_per_order: 4, max_per_user: 6, hold_minutes: 30 });
    expect(event).toMatchObject({ max_per_order: 4, max_per_user: 6, hold_minutes: 30 });
    const patched = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: { hold_minutes: 5 } });
    expect(patched.json()).toMatchObject({ max_per_order: 4, max_per_user: 6, hold_minutes: 5 });
  });

  it.each([{ max_per_order: 0 }, { max_per_order: 101 }, { max_per_user: 0 }, { max_per_user: -1 }, { hold_minutes: 0 }, { hold_minutes: 1441 }])(
    'when given %j, then 422',
    async (fields) => {
      const event = await createEvent(t.app, owner);
      const created = await t.app.inject({
        method: 'POST',
        url: '/events',
        headers: owner.auth,
        payload: { event_name: 'x', date: event.date, ticket_price: '1.00', total_tickets: 1, ...fields },
      });
      expect(created.statusCode).toBe(422);
      const patched = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: fields });
      expect(patched.statusCode).toBe(422);
    },
  );
});
