import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findInventoryDrift } from '../src/bookings/audit.js';
import { buildTestApp, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type EventBody, type TestUser } from './helpers/factories.js';

// Property-based: random sequences of book / cancel / capacity change run against the real app and database,
// compared with a tiny in-memory model of one event; then the same actions in random concurrent groups,
// checked against the conservation laws the model implies.

type Action = { kind: 'book'; user: number } | { kind: 'cancel'; pick: number } | { kind: 'capacity'; total: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('book' as const), user: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('capacity' as const), total: fc.integer({ min: 1, max: 8 }) }) },
);

let t: TestApp;
let users: TestUser[];
beforeAll(async () => {
  t = await buildTestApp();
  users = await Promise.all(Array.from({ length: 4 }, () => registerAndLogin(t.app)));
});
afterAll(async () => {
  expect(await findInventoryDrift(t.testDb.database.db)).toEqual([]);
  await t.close();
});

interface Model {
  total: number;
  tickets: { id: number; user: number; booked: boolean }[];
}
const sold = (model: Model) => model.tickets.filter((ticket) => ticket.booked).length;

async function run(eventId: number, model: Model, step: Action): Promise<number> {
  if (step.kind === 'book') {
    const response = await t.app.inject({ method: 'POST', url: '/book', headers: users[step.user]!.auth, payload: { event_id: eventId } });
    if (response.statusCode === 200) model.tickets.push({ id: response.json<{ id: number }>().id, user: step.user, booked: true });
    return response.statusCode;
  }
  if (step.kind === 'cancel') {
    const ticket = model.tickets[step.pick % Math.max(1, model.tickets.length)];
    if (!ticket) return 0;
    const response = await t.app.inject({ method: 'POST', url: `/tickets/${ticket.id}/cancel`, headers: users[ticket.user]!.auth });
    if (response.statusCode === 200) ticket.booked = false;
    return response.statusCode;
  }
  const response = await t.app.inject({ method: 'PATCH', url: `/events/${eventId}`, headers: users[0]!.auth, payload: { total_tickets: step.total } });
  if (response.statusCode === 200) model.total = step.total;
  return response.statusCode;
}

describe('the booking model', () => {
  it('when actions run one by one, then every answer is the one the model predicts', async () => {
    let actions = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(action, { minLength: 5, maxLength: 30 }), async (total, steps) => {
        const event = await createEvent(t.app, users[0]!, { total_tickets: total });
        const model: Model = { total, tickets: [] };
        for (const step of steps) {
          actions++;
          const before = { sold: sold(model), total: model.total };
          const ticket = step.kind === 'cancel' ? model.tickets[step.pick % Math.max(1, model.tickets.length)] : undefined;
          const wasBooked = ticket?.booked;
          const status = await run(event.id, model, step);
          if (step.kind === 'book') expect(status).toBe(before.sold < before.total ? 200 : 400);
          if (step.kind === 'cancel' && ticket) expect(status).toBe(wasBooked ? 200 : 400);
          if (step.kind === 'capacity') expect(status).toBe(step.total >= before.sold ? 200 : 400);
          const actual = (await t.app.inject({ url: `/events/${event.id}` })).json<EventBody>();
          expect({ sold: actual.tickets_sold, total: actual.total_tickets }).toEqual({ sold: sold(model), total: model.total });
        }
      }),
      { numRuns: 25 },
    );
    console.info(`model: ${actions} sequential actions matched the model`);
  });

  it('when actions run in random concurrent groups, then nothing is oversold and counters match the answers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(fc.array(action, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 }), async (total, groups) => {
        const event = await createEvent(t.app, users[0]!, { total_tickets: total });
        const model: Model = { total, tickets: [] };
        for (const group of groups) {
          // Cancels inside a group may target the same ticket: the model records each 200 once per ticket.
          await Promise.all(group.map((step) => run(event.id, model, step)));
          const actual = (await t.app.inject({ url: `/events/${event.id}` })).json<EventBody>();
          expect(actual.tickets_sold).toBe(sold(model));
          expect(actual.tickets_sold).toBeLessThanOrEqual(actual.total_tickets);
        }
      }),
      { numRuns: 15 },
    );
  });
});
