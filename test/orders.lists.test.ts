import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { setUpTestApp } from './helpers/build-test-app.js';
import { createEvent, type EventBody, type TestUser } from './helpers/factories.js';
import type { OrderBody } from './helpers/orders.js';

// My tickets and orders (GET /tickets, /orders), and the filters and paging headers of GET /events.

const { t, owner, alice, bob } = setUpTestApp({ users: ['owner', 'alice', 'bob'] });

const get = (url: string, user?: TestUser) => t.app.inject({ url, headers: user?.auth ?? {} });
const order = (user: TestUser, payload: object) => t.app.inject({ method: 'POST', url: '/orders', headers: user.auth, payload });
const book = (user: TestUser, eventId: number) => t.app.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: eventId } });

describe('GET /tickets and GET /tickets/{id}', () => {
  it('when listing, then I get only my tickets, newest first, each with its event, page by page', async () => {
    const event = await createEvent(t.app, owner);
    const mine = [];
    for (let i = 0; i < 3; i++) mine.push((await book(alice, event.id)).json<{ id: number }>().id);
    await book(bob, event.id);
    const page = await get('/tickets?limit=2', alice);
    expect(page.statusCode).toBe(200);
    const tickets = page.json<{ id: number; user_id: number; event: EventBody }[]>();
    expect(tickets.map((ticket) => ticket.id)).toEqual([mine[2], mine[1]]);
    expect(tickets[0]!.event).toMatchObject({ id: event.id, tickets_sold: 4 });
    const next = await get('/tickets?skip=2&limit=2', alice);
    expect(next.json<{ id: number }[]>().map((ticket) => ticket.id)).toEqual([mine[0]]);
  });

  it('when reading one, then mine is 200, someone else’s 403, a missing one 404, and no token 401', async () => {
    const event = await createEvent(t.app, owner);
    const ticket = (await book(alice, event.id)).json<{ id: number }>();
    expect((await get(`/tickets/${ticket.id}`, alice)).json()).toMatchObject({ id: ticket.id, user_id: alice.id, event: { id: event.id } });
    expect((await get(`/tickets/${ticket.id}`, bob)).statusCode).toBe(403);
    expect((await get('/tickets/99999999', alice)).statusCode).toBe(404);
    expect((await get('/tickets')).statusCode).toBe(401);
    expect((await get('/tickets?limit=101', alice)).statusCode).toBe(422);
  });
});

describe('GET /orders and GET /orders/{id}', () => {
  it('when listing, then I get only my orders, newest first, with their tickets and event, page by page', async () => {
    const event = await createEvent(t.app, owner);
    const first = (await order(bob, { event_id: event.id, quantity: 2 })).json<OrderBody>();
    const second = (await order(bob, { event_id: event.id, quantity: 1, hold: true })).json<OrderBody>();
    const third = (await order(bob, { event_id: event.id, quantity: 3 })).json<OrderBody>();
    await order(alice, { event_id: event.id, quantity: 1 });
    const page = (await get('/orders?limit=2', bob)).json<OrderBody[]>();
    expect(page.map((o) => [o.id, o.status, o.tickets.length])).toEqual([
      [third.id, 'confirmed', 3],
      [second.id, 'pending', 0],
    ]);
    expect(page[0]!.event).toMatchObject({ id: event.id });
    const rest = (await get('/orders?skip=2&limit=2', bob)).json<OrderBody[]>();
    expect(rest.map((o) => o.id)).toEqual([first.id]);
  });

  it('when reading one, then mine is 200, someone else’s 403, a missing one 404', async () => {
    const event = await createEvent(t.app, owner);
    const placed = (await order(alice, { event_id: event.id, quantity: 2 })).json<OrderBody>();
    expect((await get(`/orders/${placed.id}`, alice)).json()).toEqual(placed);
    expect((await get(`/orders/${placed.id}`, bob)).statusCode).toBe(403);
    expect((await get('/orders/99999999', alice)).statusCode).toBe(404);
    expect((await get('/orders')).statusCode).toBe(401);
  });
});

describe('GET /events filters and paging headers', () => {
  const tag = () => `t${randomBytes(4).toString('hex')}`;
  const names = async (url: string) => (await get(url)).json<EventBody[]>().map((event) => event.event_name);

  it('when q is given, then names match in any case, and % and _ are plain characters', async () => {
    const name = tag();
    for (const suffix of ['100% Rock', '100 Rock', 'A_B', 'AxB']) await createEvent(t.app, owner, { event_name: `${name} ${suffix}` });
    expect(await names(`/events?q=${name.toUpperCase()}&limit=100`)).toHaveLength(4);
    expect(await names(`/events?q=${encodeURIComponent(`${name} 100%`)}`)).toEqual([`${name} 100% Rock`]);
    expect(await names(`/events?q=${encodeURIComponent(`${name} a_b`)}`)).toEqual([`${name} A_B`]);
  });

  it('when upcoming, from or to are given, then only events in that window come back', async () => {
    const name = tag();
    const past = await createEvent(t.app, owner, { event_name: `${name} past` });
    await t.testDb.database.db.execute(sql`UPDATE events SET date = now() - interval '1 day' WHERE id = ${past.id}`);
    await createEvent(t.app, owner, { event_name: `${name} june`, date: '2031-06-15T20:00:00Z' });
    await createEvent(t.app, owner, { event_name: `${name} july`, date: '2031-07-01T00:00:00Z' });
    expect(await names(`/events?q=${name}`)).toHaveLength(3);
    expect(await names(`/events?q=${name}&upcoming=true`)).toEqual([`${name} june`, `${name} july`]);
    expect(await names(`/events?q=${name}&from=2031-06-01&to=2031-07-01T00:00:00Z`)).toEqual([`${name} june`]);
    expect(await names(`/events?q=${name}&from=2031-06-20T00:00:00%2B02:00`)).toEqual([`${name} july`]);
  });

  it.each([
    ['from=yesterday', 'from'],
    ['to=2031-02-30', 'to'],
    ['from=2031-06-01&to=2031-05-01', 'to'],
    ['upcoming=perhaps', 'upcoming'],
  ])('when the query is %s, then 422 naming %s', async (query, field) => {
    const response = await get(`/events?${query}`);
    expect(response.statusCode).toBe(422);
    expect(response.json<{ detail: { loc: string[] }[] }>().detail[0]!.loc).toEqual(['query', field]);
  });

  it('when there are more pages, then X-Total-Count counts all matches and Link points to the next page, keeping the filters', async () => {
    const name = tag();
    for (let i = 0; i < 5; i++) await createEvent(t.app, owner, { event_name: `${name} ${i}` });
    const first = await get(`/events?q=${name}&limit=2`);
    expect(first.json<EventBody[]>()).toHaveLength(2);
    expect(first.headers['x-total-count']).toBe('5');
    expect(first.headers.link).toBe(`</events?skip=2&limit=2&q=${name}>; rel="next"`);
    const next = await get(`/events?skip=2&limit=2&q=${name}`);
    expect(next.headers.link).toBe(`</events?skip=4&limit=2&q=${name}>; rel="next"`);
    const last = await get(`/events?skip=4&limit=2&q=${name}`);
    expect(last.json<EventBody[]>()).toHaveLength(1);
    expect(last.headers.link).toBeUndefined();
    const beyond = await get(`/events?skip=10&limit=2&q=${name}`);
    expect(beyond.json()).toEqual([]);
    expect(beyond.headers['x-total-count']).toBe('5');
  });
});
