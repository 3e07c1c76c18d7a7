import { createSigner } from 'fast-jwt';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.js';
import { setUpTestApp } from './helpers/build-test-app.js';
import { createEvent, type EventBody } from './helpers/factories.js';

// Issue 12: ids written one way, JSON in UTF-8 only, and tokens that carry every claim this service issues.

const { t, user } = setUpTestApp({ users: ['user'], checkInventory: true });
let event: EventBody;
beforeAll(async () => {
  event = await createEvent(t.app, user, { total_tickets: 50 });
});

const ticketsOf = async (eventId: number) =>
  (await queryRows<{ n: number }>(t.testDb.database.db, sql`SELECT count(*)::int AS n FROM tickets WHERE event_id = ${eventId}`))[0]!.n;

describe('when a body id is not written as an integer', () => {
  it.each([
    ['hex', (id: number) => `0x${id.toString(16)}`],
    ['a leading space', (id: number) => ` ${id}`],
    ['a trailing space', (id: number) => `${id} `],
    ['a leading zero', (id: number) => `0${id}`],
    ['a plus sign', (id: number) => `+${id}`],
    ['an exponent', (id: number) => `${id}e0`],
    ['a boolean', () => true],
    ['null', () => null],
  ])('then POST /book with %s answers 422 naming event_id and books nothing', async (_name, write) => {
    const before = await ticketsOf(event.id);
    const response = await t.app.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: write(event.id) } });
    expect(response.statusCode).toBe(422);
    expect(response.json<{ detail: { loc: unknown[] }[] }>().detail[0]!.loc).toEqual(['body', 'event_id']);
    expect(await ticketsOf(event.id)).toBe(before);
  });

  it('then POST /orders with a hex event_id answers 422 too', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/orders', headers: user.auth, payload: { event_id: `0x${event.id.toString(16)}`, quantity: 1 } });
    expect(response.statusCode).toBe(422);
  });

  it('then a JSON integer books, and so do plain digits in a string (as the old service accepted)', async () => {
    const asNumber = await t.app.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: event.id } });
    expect(asNumber.statusCode).toBe(200);
    const asDigits = await t.app.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: String(event.id) } });
    expect(asDigits.statusCode).toBe(200);
    expect(asDigits.json()).toMatchObject({ event_id: event.id });
  });
});

describe('when a path id is not plain digits', () => {
  it.each(['/events/0x1', '/events/%201', '/events/1%20', '/events/01', '/events/+1', '/events/1e0', '/event/0x1', '/events/01/waitlist/me', '/events/0x1/live'])(
    'then GET %s answers 422 naming the path id',
    async (url) => {
      const path = url.replace(/\b1\b/, String(event.id)).replace('0x1', `0x${event.id.toString(16)}`);
      const response = await t.app.inject({ url: path, headers: user.auth });
      expect(response.statusCode).toBe(422);
      expect(response.json<{ detail: { loc: unknown[] }[] }>().detail[0]!.loc).toEqual(['path', 'id']);
    },
  );

  it('then the same id in digits resolves', async () => {
    expect((await t.app.inject({ url: `/events/${event.id}` })).statusCode).toBe(200);
  });

  it('then POST /tickets/{id}/cancel with a leading zero answers 422 and cancels nothing', async () => {
    const booked = await t.app.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: event.id } });
    const ticketId = booked.json<{ id: number }>().id;
    const response = await t.app.inject({ method: 'POST', url: `/tickets/0${ticketId}/cancel`, headers: user.auth });
    expect(response.statusCode).toBe(422);
    const status = await queryRows<{ status: string }>(t.testDb.database.db, sql`SELECT status FROM tickets WHERE id = ${ticketId}`);
    expect(status[0]!.status).toBe('booked');
  });
});

describe('when a JSON body is not valid UTF-8', () => {
  it('then 400 with a detail, and nothing is stored', async () => {
    const name = `Caf${'\u00e9'} ${Date.now()}`;
    const body = Buffer.concat([
      Buffer.from(`{"event_name":"${name}`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`","date":"2031-01-01T00:00:00Z","ticket_price":"10.00","total_tickets":5}`),
    ]);
    const response = await t.app.inject({ method: 'POST', url: '/events', headers: { ...user.auth, 'content-type': 'application/json' }, payload: body });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ detail: expect.stringContaining('UTF-8') });
    const stored = await queryRows<{ n: number }>(t.testDb.database.db, sql`SELECT count(*)::int AS n FROM events WHERE event_name LIKE ${`${name}%`}`);
    expect(stored[0]!.n).toBe(0);
  });

  it('then valid UTF-8 (accents, emoji) is stored as sent', async () => {
    const created = await createEvent(t.app, user, { event_name: 'Caf\u00e9 \u{1F3B8}' });
    expect(created.event_name).toBe('Caf\u00e9 \u{1F3B8}');
  });
});

describe('when a token is signed with the right key but lacks a claim', () => {
  it.each(['iss', 'aud', 'iat', 'exp', 'sub', 'ver'])('then a token without %s is refused with 401', async (claim) => {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = { sub: String(user.id), email: user.email, ver: 0, iss: 'bookfast', aud: 'bookfast-api', iat: now, exp: now + 600 };
    delete claims[claim];
    // fast-jwt's signer adds iat by itself unless told not to.
    const token = createSigner({ key: t.config.secretKey, algorithm: 'HS256', noTimestamp: claim === 'iat' })(claims);
    const response = await t.app.inject({ method: 'POST', url: '/book', headers: { authorization: `Bearer ${token}` }, payload: { event_id: event.id } });
    expect(response.statusCode).toBe(401);
  });

  it('then the same token with every claim is accepted', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = createSigner({ key: t.config.secretKey, algorithm: 'HS256' })({
      sub: String(user.id), email: user.email, ver: 0, iss: 'bookfast', aud: 'bookfast-api', iat: now, exp: now + 600,
    });
    const response = await t.app.inject({ method: 'GET', url: '/events', headers: { authorization: `Bearer ${token}` } });
    expect(response.statusCode).toBe(200);
    const booked = await t.app.inject({ method: 'POST', url: '/book', headers: { authorization: `Bearer ${token}` }, payload: { event_id: event.id } });
    expect(booked.statusCode, booked.body).toBe(200);
  });

  it('then a sub that is not plain digits is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = createSigner({ key: t.config.secretKey, algorithm: 'HS256' })({
      sub: `0${user.id}`, email: user.email, ver: 0, iss: 'bookfast', aud: 'bookfast-api', iat: now, exp: now + 600,
    });
    const response = await t.app.inject({ method: 'POST', url: '/book', headers: { authorization: `Bearer ${token}` }, payload: { event_id: event.id } });
    expect(response.statusCode).toBe(401);
  });
});
