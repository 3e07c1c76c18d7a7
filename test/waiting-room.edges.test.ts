import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, closeCheckingInventory, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import type { OrderBody } from './helpers/orders.js';
import { inSeconds, join, manyUsers, pollUntilDone, putRoom, roomSettings } from './helpers/waiting-room.js';

// Issue 25 items 2, 6 and 7: a waiting-list offer is its own admission, a purchase frees its slot whatever the
// room's state, and a closed room means the sale goes on through the waiting list only.
let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await buildTestApp({ WAITING_ROOM_TICK_MS: '50' });
  owner = await registerAndLogin(t.app);
});
afterAll(() => closeCheckingInventory(t));

const withPass = (user: TestUser, pass?: string) => ({ ...user.auth, ...(pass === undefined ? {} : { 'queue-pass': pass }) });
const book = (user: TestUser, eventId: number, pass?: string) => t.app.inject({ method: 'POST', url: '/book', headers: withPass(user, pass), payload: { event_id: eventId } });
const order = (user: TestUser, eventId: number, body: object, pass?: string) =>
  t.app.inject({ method: 'POST', url: '/orders', headers: withPass(user, pass), payload: { event_id: eventId, quantity: 1, ...body } });
const confirm = (user: TestUser, orderId: number, pass?: string) => t.app.inject({ method: 'POST', url: `/orders/${orderId}/confirm`, headers: withPass(user, pass) });
const setState = (eventId: number, state: string) => t.app.inject({ method: 'PATCH', url: `/events/${eventId}/waiting-room`, headers: owner.auth, payload: { state } });
const joinWaitlist = (user: TestUser, eventId: number) => t.app.inject({ method: 'POST', url: `/events/${eventId}/waitlist`, headers: user.auth });

/** The pending order the waiting list offered `user`, once the promoter has made it. */
async function offerOf(user: TestUser, eventId: number): Promise<OrderBody> {
  return vi.waitFor(
    async () => {
      const orders = (await t.app.inject({ url: '/orders', headers: user.auth })).json<{ items?: OrderBody[] } | OrderBody[]>();
      const list = Array.isArray(orders) ? orders : (orders.items ?? []);
      const offer = list.find((found) => found.event_id === eventId && found.status === 'pending');
      if (!offer) throw new Error('no offer yet');
      return offer;
    },
    { timeout: 10_000, interval: 50 },
  );
}

async function admit(user: TestUser, eventId: number): Promise<string> {
  expect((await join(t.app, user, eventId)).statusCode).toBe(201);
  const entry = await pollUntilDone(t.app, user, eventId);
  expect(entry.status).toBe('admitted');
  return entry.pass!;
}

describe('a waiting-list offer behind an open room', () => {
  it('when the last seat held by an admitted buyer comes back, then the one waiting confirms the offer without a pass', async () => {
    const [admitted, waiting] = await manyUsers(t.app, t.testDb.database, 2);
    const event = await createEvent(t.app, owner, { total_tickets: 1 });
    await putRoom(t.app, owner, event.id, roomSettings());
    const pass = await admit(admitted!, event.id);
    const hold = await order(admitted!, event.id, { hold: true }, pass);
    expect(hold.statusCode).toBe(200);
    expect((await joinWaitlist(waiting!, event.id)).statusCode).toBe(201);

    expect((await t.app.inject({ method: 'POST', url: `/orders/${hold.json<OrderBody>().id}/cancel`, headers: admitted!.auth })).statusCode).toBe(200);
    const offer = await offerOf(waiting!, event.id);

    const confirmed = await confirm(waiting!, offer.id);
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.json()).toMatchObject({ status: 'confirmed', quantity: 1 });
  });
});

describe('a purchase during passthrough', () => {
  it('when two admitted buyers buy while the room passes everyone through, then their slots free and the next is admitted', async () => {
    const [first, second, next] = await manyUsers(t.app, t.testDb.database, 3);
    const event = await createEvent(t.app, owner);
    await putRoom(t.app, owner, event.id, roomSettings({ max_active: 2, pass_minutes: 60 }));
    const passes = [await admit(first!, event.id), await admit(second!, event.id)];
    expect((await setState(event.id, 'passthrough')).statusCode).toBe(200);
    expect((await book(first!, event.id, passes[0])).statusCode).toBe(200);
    expect((await order(second!, event.id, { quantity: 2 }, passes[1])).statusCode).toBe(200);

    expect((await setState(event.id, 'open')).statusCode).toBe(200);
    expect((await join(t.app, next!, event.id)).statusCode).toBe(201);
    expect((await pollUntilDone(t.app, next!, event.id, 10_000)).status).toBe('admitted');
  });
});

describe('a closed room', () => {
  it('when it is closed before onsale_at, then buying is still "Not on sale yet"', async () => {
    const [buyer] = await manyUsers(t.app, t.testDb.database, 1);
    const event = await createEvent(t.app, owner);
    await putRoom(t.app, owner, event.id, roomSettings({ onsale_at: inSeconds(3600) }));
    expect((await setState(event.id, 'closed')).statusCode).toBe(200);
    expect((await book(buyer!, event.id)).json()).toEqual({ detail: 'Not on sale yet' });
    expect((await order(buyer!, event.id, {})).statusCode).toBe(403);
  });

  it('when it is closed with seats left after onsale_at, then nobody books (409), the queue and the waiting list agree, and the line gets the seats', async () => {
    const [buyer, queued, waiting] = await manyUsers(t.app, t.testDb.database, 3);
    const event = await createEvent(t.app, owner, { total_tickets: 5 });
    await putRoom(t.app, owner, event.id, roomSettings());
    expect((await setState(event.id, 'closed')).statusCode).toBe(200);
    const closed = { detail: `Sales are closed: join the waiting list at /events/${event.id}/waitlist` };

    const booked = await book(buyer!, event.id);
    expect(booked.statusCode).toBe(409);
    expect(booked.json()).toEqual(closed);
    expect((await order(buyer!, event.id, { hold: true })).json()).toEqual(closed);
    const queue = await join(t.app, queued!, event.id);
    expect(queue.statusCode).toBe(409);
    expect(queue.json<{ detail: string }>().detail).toContain(`join the waiting list at /events/${event.id}/waitlist`);

    expect((await joinWaitlist(waiting!, event.id)).statusCode).toBe(201);
    const offer = await offerOf(waiting!, event.id);
    expect((await confirm(waiting!, offer.id)).statusCode).toBe(200);
  });
});
