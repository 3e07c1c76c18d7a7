import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.js';
import { buildTestApp, setUpTestApp } from './helpers/build-test-app.js';
import { createEvent, futureDate, registerAndLogin, type EventBody } from './helpers/factories.js';

const { t, owner, stranger } = setUpTestApp({ users: ['owner', 'stranger'] });

const post = (payload: unknown, user = owner) => t.app.inject({ method: 'POST', url: '/events', headers: user.auth, payload: payload as object });

describe('POST /events', () => {
  it('when the fields are valid, then it answers the Event with a decimal-string price and an offset date', async () => {
    const response = await post({ event_name: '  Jazz Night  ', date: '2031-05-01T20:00:00+02:00', ticket_price: 12.5, total_tickets: 300 });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      id: expect.any(Number),
      event_name: 'Jazz Night',
      date: '2031-05-01T18:00:00.000Z',
      ticket_price: '12.50',
      total_tickets: 300,
      tickets_sold: 0,
      tickets_available: 300,
      max_per_order: 10,
      max_per_user: null,
      hold_minutes: 10,
      currency: 'EUR',
    });
  });

  it('when the date has no offset, then it is read as UTC', async () => {
    const event = await createEvent(t.app, owner, { date: '2031-01-02T03:04:05' });
    expect(event.date).toBe('2031-01-02T03:04:05.000Z');
  });

  it('when the name looks like SQL, then it is stored and returned as data', async () => {
    const name = "'); DROP TABLE events;--";
    const event = await createEvent(t.app, owner, { event_name: name });
    const fetched = await t.app.inject({ url: `/events/${event.id}` });
    expect(fetched.json<EventBody>().event_name).toBe(name);
  });

  it.each([
    ['a past date', { date: '2001-01-01T00:00:00Z' }, 'date'],
    ['an impossible date', { date: '2031-02-30T00:00:00Z' }, 'date'],
    ['a non-date', { date: 'next friday' }, 'date'],
    ['a blank name', { event_name: '   ' }, 'event_name'],
    ['a 201-character name', { event_name: 'x'.repeat(201) }, 'event_name'],
    ['a zero price', { ticket_price: 0 }, 'ticket_price'],
    ['a price with 3 decimals', { ticket_price: '1.234' }, 'ticket_price'],
    ['a float price with 3 decimals', { ticket_price: 0.1 + 0.2 }, 'ticket_price'],
    ['a negative price', { ticket_price: -5 }, 'ticket_price'],
    ['zero tickets', { total_tickets: 0 }, 'total_tickets'],
    ['too many tickets', { total_tickets: 1_000_001 }, 'total_tickets'],
    ['fractional tickets', { total_tickets: 1.5 }, 'total_tickets'],
  ])('when given %s, then it answers 422 naming the field', async (_label, fields, field) => {
    const response = await post({ event_name: 'Show', date: futureDate(), ticket_price: '10.00', total_tickets: 10, ...fields });
    expect(response.statusCode).toBe(422);
    expect(JSON.stringify(response.json<{ detail: { loc: string[] }[] }>().detail[0]!.loc)).toContain(field);
  });

  it('when no token is sent, then it answers 401', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/events', payload: {} });
    expect(response.statusCode).toBe(401);
  });
});

describe('GET /events', () => {
  it('when listing, then events come ordered by date then id, paginated by skip and limit', async () => {
    const late = await createEvent(t.app, owner, { date: '2040-01-01T00:00:00Z' });
    const early = await createEvent(t.app, owner, { date: '2039-01-01T00:00:00Z' });
    const sameDate = await createEvent(t.app, owner, { date: '2039-01-01T00:00:00Z' });
    const all = (await t.app.inject({ url: '/events?limit=100' })).json<EventBody[]>();
    const ids = all.map((event) => event.id);
    expect(ids.indexOf(early.id)).toBeLessThan(ids.indexOf(sameDate.id));
    expect(ids.indexOf(sameDate.id)).toBeLessThan(ids.indexOf(late.id));
    const dates = all.map((event) => Date.parse(event.date));
    expect([...dates].sort((a, b) => a - b)).toEqual(dates);
    const page = (await t.app.inject({ url: '/events?skip=1&limit=2' })).json<EventBody[]>();
    expect(page.map((event) => event.id)).toEqual(ids.slice(1, 3));
  });

  it.each(['limit=0', 'limit=101', 'skip=-1', 'limit=abc', 'limit=NaN', 'skip=1.5'])('when the query is %s, then it answers 422', async (query) => {
    const response = await t.app.inject({ url: `/events?${query}` });
    expect(response.statusCode).toBe(422);
    expect(response.json<{ detail: { loc: string[] }[] }>().detail[0]!.loc[0]).toBe('query');
  });

  it('when getting one by /events/{id} or the old /event/{id}, then both answer it; an unknown id is 404', async () => {
    const event = await createEvent(t.app, owner);
    expect((await t.app.inject({ url: `/events/${event.id}` })).json()).toEqual(event);
    expect((await t.app.inject({ url: `/event/${event.id}` })).json()).toEqual(event);
    const missing = await t.app.inject({ url: '/events/999999' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ detail: 'Event not found' });
    expect((await t.app.inject({ url: '/events/99999999999' })).statusCode).toBe(422);
  });
});

describe('PATCH /events/{id}', () => {
  it('when the owner changes some fields, then only those change', async () => {
    const event = await createEvent(t.app, owner);
    const response = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: { ticket_price: '75', total_tickets: 20 } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ ...event, ticket_price: '75.00', total_tickets: 20, tickets_available: 20 });
  });

  it('when someone else edits, then 403; an unknown event, 404', async () => {
    const event = await createEvent(t.app, owner);
    const forbidden = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: stranger.auth, payload: { event_name: 'Mine now' } });
    expect(forbidden.statusCode).toBe(403);
    const missing = await t.app.inject({ method: 'PATCH', url: '/events/999999', headers: owner.auth, payload: { event_name: 'x' } });
    expect(missing.statusCode).toBe(404);
  });

  it('when the new capacity is below the tickets sold, then 400 and nothing changes', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 5 });
    for (let i = 0; i < 3; i++) await t.app.inject({ method: 'POST', url: '/book', headers: stranger.auth, payload: { event_id: event.id } });
    const response = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: { total_tickets: 2 } });
    expect(response.statusCode).toBe(400);
    const after = (await t.app.inject({ url: `/events/${event.id}` })).json<EventBody>();
    expect(after).toMatchObject({ total_tickets: 5, tickets_sold: 3 });
  });
});

describe('DELETE /events/{id}', () => {
  it('when the event has no booked tickets, then the owner deletes it with 204', async () => {
    const event = await createEvent(t.app, owner);
    const booked = await t.app.inject({ method: 'POST', url: '/book', headers: stranger.auth, payload: { event_id: event.id } });
    await t.app.inject({ method: 'POST', url: `/tickets/${booked.json<{ id: number }>().id}/cancel`, headers: stranger.auth });
    const response = await t.app.inject({ method: 'DELETE', url: `/events/${event.id}`, headers: owner.auth });
    expect(response.statusCode).toBe(204);
    expect((await t.app.inject({ url: `/events/${event.id}` })).statusCode).toBe(404);
  });

  it('when it has booked tickets, then 400; when someone else asks, then 403', async () => {
    const event = await createEvent(t.app, owner);
    await t.app.inject({ method: 'POST', url: '/book', headers: stranger.auth, payload: { event_id: event.id } });
    expect((await t.app.inject({ method: 'DELETE', url: `/events/${event.id}`, headers: owner.auth })).statusCode).toBe(400);
    expect((await t.app.inject({ method: 'DELETE', url: `/events/${event.id}`, headers: stranger.auth })).statusCode).toBe(403);
  });
});

describe('event currency', () => {
  it('when an event names its currency in any letter case, then it is kept in upper case and PATCH can change it', async () => {
    const event = await createEvent(t.app, owner, { currency: 'usd' });
    expect(event.currency).toBe('USD');
    const patched = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: { currency: 'GBP' } });
    expect(patched.json<EventBody>().currency).toBe('GBP');
    expect((await t.app.inject({ url: `/event/${event.id}` })).json<EventBody>().currency).toBe('GBP');
  });

  it.each([['a made-up code', 'ABC'], ['a number', '978'], ['four letters', 'EURO'], ['a symbol', '€']])(
    'when the currency is %s, then it answers 422 naming currency',
    async (_label, currency) => {
      const response = await post({ event_name: 'X', date: futureDate(), ticket_price: '5', total_tickets: 5, currency });
      expect(response.statusCode).toBe(422);
      expect(response.json<{ detail: { loc: string[] }[] }>().detail[0]!.loc).toEqual(['body', 'currency']);
      const patch = await t.app.inject({ method: 'PATCH', url: `/events/${(await createEvent(t.app, owner)).id}`, headers: owner.auth, payload: { currency } });
      expect(patch.statusCode).toBe(422);
    },
  );

  it('when the server sets CURRENCY, then events created without one (old clients) take it', async () => {
    const yen = await buildTestApp({ CURRENCY: 'jpy' });
    try {
      const seller = await registerAndLogin(yen.app);
      expect((await createEvent(yen.app, seller)).currency).toBe('JPY');
      expect((await createEvent(yen.app, seller, { currency: 'EUR' })).currency).toBe('EUR');
    } finally {
      await yen.close();
    }
  });

  it('when a row was written without a currency (before the column existed), then it reads as EUR', async () => {
    const rows = await queryRows<{ id: number }>(
      t.testDb.database.db,
      sql`INSERT INTO events (event_name, date, ticket_price, total_tickets) VALUES ('Old one', now() + interval '1 day', 5, 5) RETURNING id`,
    );
    expect((await t.app.inject({ url: `/events/${rows[0]!.id}` })).json<EventBody>().currency).toBe('EUR');
  });
});
