import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { promoteWaitlist } from '../src/inventory/returns.js';
import { queryRows } from '../src/db/client.js';
import { setUpTestApp } from './helpers/build-test-app.js';
import { createEvent, type EventBody } from './helpers/factories.js';
import { expireHold } from './helpers/orders.js';

// Property-based: random sequences of actions run against the real app and database, compared with a small
// in-memory model of one event after every step; then bookings, cancels and capacity changes in random
// concurrent groups, checked against the conservation laws the model implies.

type Action =
  | { kind: 'book'; user: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'capacity'; total: number }
  | { kind: 'order'; user: number; quantity: number; hold: boolean }
  | { kind: 'confirm' | 'expire' | 'cancel-order'; pick: number }
  | { kind: 'join' | 'leave'; user: number }
  | { kind: 'check-in'; pick: number };

const user = fc.nat(3);
const pick = fc.nat(50);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('book' as const), user }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('capacity' as const), total: fc.integer({ min: 1, max: 8 }) }) },
);
const orderAction: fc.Arbitrary<Action> = fc.oneof(
  action,
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('order' as const), user, quantity: fc.integer({ min: 1, max: 3 }), hold: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('confirm' as const, 'expire' as const, 'cancel-order' as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('join' as const, 'leave' as const), user }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('check-in' as const), pick }) },
);

// In concurrent groups: bookings, cancels and capacity changes, and orders (immediate and held), confirms,
// order cancels and check-ins beside them. No waiting list there: its promotions run in the background, so
// a group's answers alone would not say who holds what.
const concurrentAction: fc.Arbitrary<Action> = fc.oneof(
  action,
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('order' as const), user, quantity: fc.integer({ min: 1, max: 3 }), hold: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('confirm' as const, 'cancel-order' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('check-in' as const), pick }) },
);
// Users 0-3 act; user 4 is a buyer who never joins the line (see outsiderTries).
const { t, crowd: users } = setUpTestApp({ crowd: 5, checkInventory: true });

interface Ticket {
  id: number;
  code: string;
  user: number;
  booked: boolean;
  checkedIn: boolean;
}
interface Order {
  id: number;
  user: number;
  quantity: number;
  status: 'pending' | 'confirmed' | 'cancelled' | 'expired';
  tickets: Ticket[];
}
interface Model {
  total: number;
  tickets: Ticket[];
  orders: Order[];
  /** Users in the waiting list, first in line first. */
  line: number[];
}
type TicketBody = { id: number; code: string };
const sold = (model: Model) => model.tickets.filter((ticket) => ticket.booked).length;
const held = (model: Model) => model.orders.filter((order) => order.status === 'pending').reduce((sum, order) => sum + order.quantity, 0);
const free = (model: Model) => model.total - sold(model) - held(model);
/** Seats a buyer outside the line can take: the free ones not kept for the people in line. */
const forSale = (model: Model) => free(model) - model.line.length;
// Actions whose own answer does not depend on the seat counts, so a booking may run beside them.
const RETURNS_SEATS = new Set<Action['kind']>(['cancel', 'cancel-order', 'leave']);
const picked = <T>(list: T[], index: number): T | undefined => list[index % Math.max(1, list.length)];

const post = (url: string, who: number, payload?: object) => t.app.inject({ method: 'POST', url, headers: users[who]!.auth, payload: payload ?? {} });
const ticketsOf = (bodies: TicketBody[], who: number) => bodies.map((body) => ({ id: body.id, code: body.code, user: who, booked: true, checkedIn: false }));

/** Runs one action through the app; returns its HTTP status and the status the model predicts. */
async function step(eventId: number, model: Model, a: Action): Promise<[number, number] | undefined> {
  switch (a.kind) {
    case 'book': {
      const expected = forSale(model) >= 1 ? 200 : 400;
      const response = await post('/book', a.user, { event_id: eventId });
      if (response.statusCode === 200) model.tickets.push(...ticketsOf([response.json<TicketBody>()], a.user));
      return [response.statusCode, expected];
    }
    case 'order': {
      const expected = forSale(model) >= a.quantity ? 200 : 400;
      const response = await post('/orders', a.user, { event_id: eventId, quantity: a.quantity, hold: a.hold });
      if (response.statusCode === 200) {
        const body = response.json<{ id: number; tickets: TicketBody[] }>();
        const tickets = ticketsOf(body.tickets, a.user);
        model.tickets.push(...tickets);
        model.orders.push({ id: body.id, user: a.user, quantity: a.quantity, status: a.hold ? 'pending' : 'confirmed', tickets });
      }
      return [response.statusCode, expected];
    }
    case 'confirm':
    case 'expire': {
      const order = picked(model.orders, a.pick);
      if (!order) return undefined;
      // Time passing for this hold (set on the database's clock), then its buyer tries to confirm it.
      if (a.kind === 'expire') await expireHold(t.testDb.database, order.id);
      const expected = order.status === 'pending' && a.kind === 'confirm' ? 200 : 409;
      const response = await post(`/orders/${order.id}/confirm`, order.user);
      if (response.statusCode === 200) {
        order.status = 'confirmed';
        order.tickets = ticketsOf(response.json<{ tickets: TicketBody[] }>().tickets, order.user);
        model.tickets.push(...order.tickets);
      } else if (order.status === 'pending' && a.kind === 'expire') order.status = 'expired';
      return [response.statusCode, expected];
    }
    case 'cancel-order': {
      const order = picked(model.orders, a.pick);
      if (!order) return undefined;
      const usedAtTheDoor = order.tickets.some((ticket) => ticket.booked && ticket.checkedIn);
      const expected = order.status === 'pending' || (order.status === 'confirmed' && !usedAtTheDoor) ? 200 : 409;
      const response = await post(`/orders/${order.id}/cancel`, order.user);
      if (response.statusCode === 200) {
        order.status = 'cancelled';
        for (const ticket of order.tickets) ticket.booked = false;
      }
      return [response.statusCode, expected];
    }
    case 'cancel': {
      const ticket = picked(model.tickets, a.pick);
      if (!ticket) return undefined;
      const expected = !ticket.booked ? 400 : ticket.checkedIn ? 409 : 200;
      const response = await post(`/tickets/${ticket.id}/cancel`, ticket.user);
      if (response.statusCode === 200) ticket.booked = false;
      return [response.statusCode, expected];
    }
    case 'check-in': {
      const ticket = picked(model.tickets, a.pick);
      if (!ticket) return undefined;
      const expected = ticket.booked && !ticket.checkedIn ? 200 : 409;
      const response = await post(`/events/${eventId}/check-in`, 0, { code: ticket.code });
      if (response.statusCode === 200) ticket.checkedIn = true;
      return [response.statusCode, expected];
    }
    case 'join': {
      const expected = model.line.includes(a.user) || forSale(model) > 0 ? 409 : 201;
      const response = await post(`/events/${eventId}/waitlist`, a.user);
      if (response.statusCode === 201) model.line.push(a.user);
      return [response.statusCode, expected];
    }
    case 'leave': {
      const expected = model.line.includes(a.user) ? 204 : 404;
      const response = await t.app.inject({ method: 'DELETE', url: `/events/${eventId}/waitlist`, headers: users[a.user]!.auth });
      if (response.statusCode === 204) model.line = model.line.filter((waiting) => waiting !== a.user);
      return [response.statusCode, expected];
    }
    case 'capacity': {
      const expected = a.total >= sold(model) + held(model) ? 200 : 400;
      const response = await t.app.inject({ method: 'PATCH', url: `/events/${eventId}`, headers: users[0]!.auth, payload: { total_tickets: a.total } });
      if (response.statusCode === 200) model.total = a.total;
      return [response.statusCode, expected];
    }
  }
}

/**
 * Runs an action that may give seats back while a buyer outside the line books at the same moment (before
 * any promotion is sure to have run). The buyer gets a seat only if more seats are free than people wait,
 * before or after the action (a promotion does not change that number): sold out when not even after it,
 * booked when already before it, either in between.
 */
async function stepWithOutsider(eventId: number, model: Model, a: Action): Promise<[number, number] | undefined> {
  const before = forSale(model);
  // An order, not POST /book: the booking batcher may answer "sold out" from memory without asking.
  const [statuses, outsider] = await Promise.all([step(eventId, model, a), post('/orders', 4, { event_id: eventId, quantity: 1 })]);
  const after = forSale(model);
  if (after <= 0) expect(outsider.statusCode, 'a buyer outside the line').toBe(400);
  if (before >= 1) expect(outsider.statusCode, 'a buyer outside the line').toBe(200);
  if (outsider.statusCode === 200) {
    const body = outsider.json<{ id: number; tickets: TicketBody[] }>();
    const tickets = ticketsOf(body.tickets, 4);
    model.tickets.push(...tickets);
    model.orders.push({ id: body.id, user: 4, quantity: 1, status: 'confirmed', tickets });
  }
  return statuses;
}

/**
 * Seats that came back went to the line: the first min(free, people in line) each hold one seat, in line
 * order. The app promotes in the background; running it here too makes the state settled whichever comes
 * first (promotions are serialised by the event's row lock and never promote twice).
 */
async function promoted(eventId: number, model: Model): Promise<void> {
  await promoteWaitlist(t.testDb.database.db, eventId);
  const count = Math.min(Math.max(free(model), 0), model.line.length);
  // Orders the model does not know yet (a promotion's hold may be older than an order placed beside it).
  const known = `{${model.orders.map((order) => order.id).join(',')}}`;
  const holds = await queryRows<{ id: number; user_id: number; quantity: number }>(
    t.testDb.database.db,
    sql`SELECT id, user_id, quantity FROM orders WHERE event_id = ${eventId} AND id <> ALL(${known}::int[]) ORDER BY id`,
  );
  expect(holds.map((hold) => [users.findIndex((u) => u.id === hold.user_id), hold.quantity])).toEqual(model.line.slice(0, count).map((who) => [who, 1]));
  for (const hold of holds) model.orders.push({ id: hold.id, user: model.line.shift()!, quantity: 1, status: 'pending', tickets: [] });
}

async function checkAgainst(eventId: number, model: Model): Promise<void> {
  const actual = (await t.app.inject({ url: `/events/${eventId}` })).json<EventBody>();
  expect({ sold: actual.tickets_sold, available: actual.tickets_available, total: actual.total_tickets }).toEqual({
    sold: sold(model),
    available: free(model),
    total: model.total,
  });
  const line = await queryRows<{ user_id: number }>(t.testDb.database.db, sql`SELECT user_id FROM waitlist WHERE event_id = ${eventId} ORDER BY id`);
  expect(line.map((row) => users.findIndex((u) => u.id === row.user_id))).toEqual(model.line);
  const orders = await queryRows<{ id: number; status: string }>(t.testDb.database.db, sql`SELECT id, status FROM orders WHERE event_id = ${eventId} ORDER BY id`);
  expect(orders).toEqual(model.orders.map((order) => ({ id: order.id, status: order.status })).sort((a, b) => a.id - b.id));
}

describe('the booking model', () => {
  it('when actions run one by one, then every answer and every count after it is the one the model predicts', async () => {
    let actions = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(orderAction, { minLength: 5, maxLength: 30 }), async (total, steps) => {
        const event = await createEvent(t.app, users[0]!, { total_tickets: total });
        const model: Model = { total, tickets: [], orders: [], line: [] };
        for (const a of steps) {
          actions++;
          const statuses = await (RETURNS_SEATS.has(a.kind) ? stepWithOutsider : step)(event.id, model, a);
          if (statuses) expect(statuses[0], JSON.stringify(a)).toBe(statuses[1]);
          await promoted(event.id, model);
          await checkAgainst(event.id, model);
        }
      }),
      { numRuns: 25 },
    );
    console.info(`model: ${actions} sequential actions matched the model`);
  });

  it('when actions run in random concurrent groups, then nothing is oversold and counters match the answers', async () => {
    let orders = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(fc.array(concurrentAction, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 }), async (total, groups) => {
        const event = await createEvent(t.app, users[0]!, { total_tickets: total });
        const model: Model = { total, tickets: [], orders: [], line: [] };
        for (const group of groups) {
          // Cancels inside a group may target the same ticket or order: the model records each 200 once; a
          // 200 is the one answer that changes it, so the group's answers in any order give the same model.
          await Promise.all(group.map((a) => step(event.id, model, a)));
          const actual = (await t.app.inject({ url: `/events/${event.id}` })).json<EventBody>();
          expect(actual.tickets_sold).toBeLessThanOrEqual(actual.total_tickets);
          // Seats sold and held, and every order's status, are the ones the 200s of the group account for.
          await checkAgainst(event.id, model);
        }
        orders += model.orders.length;
      }),
      { numRuns: 15 },
    );
    console.info(`model: ${orders} orders placed in concurrent groups matched the model`);
  });
});
