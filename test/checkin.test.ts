import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.js';
import { setUpTestApp } from './helpers/build-test-app.js';
import { findInventoryDrift } from './helpers/test-db.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';

interface TicketBody {
  id: number;
  event_id: number;
  status: string;
  code: string;
  checked_in_at: string | null;
}

const { t, owner, buyer, stranger } = setUpTestApp({ users: ['owner', 'buyer', 'stranger'] });

async function book(eventId: number, user = buyer): Promise<TicketBody> {
  const response = await t.app.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: eventId } });
  expect(response.statusCode).toBe(200);
  return response.json<TicketBody>();
}

const scan = (eventId: number, code: string, user = owner) =>
  t.app.inject({ method: 'POST', url: `/events/${eventId}/check-in`, headers: user.auth, payload: { code } });

describe('POST /events/{id}/check-in', () => {
  it('when the owner scans a booked ticket, then it is admitted and the ticket says when', async () => {
    const event = await createEvent(t.app, owner);
    const ticket = await book(event.id);
    // Issue time (hex microseconds), then 122 random bits in URL-safe base64.
    expect(ticket.code).toMatch(/^[0-9a-f]{14}[A-Za-z0-9_-]{22}$/);
    expect(ticket.checked_in_at).toBeNull();

    const response = await scan(event.id, ` ${ticket.code}\n`);
    expect(response.statusCode).toBe(200);
    const admitted = response.json<TicketBody>();
    expect(admitted).toMatchObject({ id: ticket.id, event_id: event.id, status: 'booked', code: ticket.code });
    expect(Date.parse(admitted.checked_in_at!)).not.toBeNaN();
  });

  it('when the same code is scanned again, then 409 says when it was first admitted', async () => {
    const event = await createEvent(t.app, owner);
    const ticket = await book(event.id);
    const first = (await scan(event.id, ticket.code)).json<TicketBody>();
    const second = await scan(event.id, ticket.code);
    expect(second.statusCode).toBe(409);
    expect(second.json()).toEqual({ detail: `Ticket already checked in at ${first.checked_in_at}` });
  });

  it('when ten doors scan one code at once, then exactly one admits it', async () => {
    const event = await createEvent(t.app, owner);
    const ticket = await book(event.id);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${t.baseUrl}/events/${event.id}/check-in`, {
          method: 'POST',
          headers: { ...owner.auth, 'content-type': 'application/json' },
          body: JSON.stringify({ code: ticket.code }),
        }),
      ),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(9);
    const rows = await queryRows<{ admitted: number }>(
      t.testDb.database.db,
      sql`SELECT count(*)::int AS admitted FROM tickets WHERE id = ${ticket.id} AND checked_in_at IS NOT NULL`,
    );
    expect(rows[0]!.admitted).toBe(1);
  });

  it('when a ticket holds a code in the earlier shape (43 random characters), then it is still admitted', async () => {
    const event = await createEvent(t.app, owner);
    const ticket = await book(event.id);
    const earlier = 'Q2hlY2staW4gY29kZSBmcm9tIGJlZm9yZSBtaWdyYXRpb24_-AB';
    const [{ code }] = (await queryRows<{ code: string }>(
      t.testDb.database.db,
      sql`UPDATE tickets SET code = ${earlier.slice(0, 43)} WHERE id = ${ticket.id} RETURNING code`,
    )) as [{ code: string }];
    expect(code).toHaveLength(43);
    const response = await scan(event.id, code);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: ticket.id });
  });

  it('when the ticket was cancelled, then 409 "Ticket was cancelled"', async () => {
    const event = await createEvent(t.app, owner);
    const ticket = await book(event.id);
    await t.app.inject({ method: 'POST', url: `/tickets/${ticket.id}/cancel`, headers: buyer.auth });
    const response = await scan(event.id, ticket.code);
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({ detail: 'Ticket was cancelled' });
  });

  it('when the ticket is for another event, then 400 and it stays unadmitted for its own event', async () => {
    const here = await createEvent(t.app, owner);
    const there = await createEvent(t.app, owner);
    const ticket = await book(there.id);
    const response = await scan(here.id, ticket.code);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ detail: 'Ticket is for another event' });
    expect((await scan(there.id, ticket.code)).statusCode).toBe(200);
  });

  it.each([
    ['a code nobody holds', 'x'.repeat(43)],
    ['a code with SQL in it', "' OR 1=1 --"],
    ['a code with a NUL byte', 'abc\u0000def'],
  ])('when the code is %s, then 404 "Unknown ticket code"', async (_label, code) => {
    const event = await createEvent(t.app, owner);
    const response = await scan(event.id, code);
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ detail: 'Unknown ticket code' });
  });

  it('when someone other than the owner scans, then 403 and nothing is admitted; an admin may', async () => {
    const event = await createEvent(t.app, owner);
    const ticket = await book(event.id);
    const refused = await scan(event.id, ticket.code, stranger);
    expect(refused.statusCode).toBe(403);
    // The holder cannot let themselves in either.
    expect((await scan(event.id, ticket.code, buyer)).statusCode).toBe(403);

    const admin = await registerAndLogin(t.app);
    await t.testDb.database.db.execute(sql`UPDATE users SET role = 'admin' WHERE id = ${admin.id}`);
    expect((await scan(event.id, ticket.code, admin)).statusCode).toBe(200);
  });

  it('when the event does not exist, or the body is wrong, or no token is sent, then 404, 422 and 401', async () => {
    expect((await scan(999_999, 'abc')).statusCode).toBe(404);
    const event = await createEvent(t.app, owner);
    expect((await scan(event.id, '')).statusCode).toBe(422);
    const noBody = await t.app.inject({ method: 'POST', url: `/events/${event.id}/check-in`, headers: owner.auth, payload: {} });
    expect(noBody.statusCode).toBe(422);
    const noToken = await t.app.inject({ method: 'POST', url: `/events/${event.id}/check-in`, payload: { code: 'abc' } });
    expect(noToken.statusCode).toBe(401);
  });
});

describe('cancelling a checked-in ticket', () => {
  const cancelTicket = (id: number) => t.app.inject({ method: 'POST', url: `/tickets/${id}/cancel`, headers: buyer.auth });
  const cancelOrder = (id: number) => t.app.inject({ method: 'POST', url: `/orders/${id}/cancel`, headers: buyer.auth });
  const eventNow = async (id: number) => (await t.app.inject({ url: `/events/${id}` })).json<{ tickets_sold: number; tickets_available: number }>();
  const statusesOf = async (ids: number[]) =>
    (await queryRows<{ status: string }>(t.testDb.database.db, sql`SELECT status FROM tickets WHERE id = ANY(${`{${ids.join(',')}}`}::int[]) ORDER BY id`)).map(
      (row) => row.status,
    );

  it('when the ticket was admitted, then cancelling it is 409 and its seat is not sold again', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 1 });
    const ticket = await book(event.id);
    expect((await scan(event.id, ticket.code)).statusCode).toBe(200);

    const response = await cancelTicket(ticket.id);
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({ detail: 'Ticket already checked in' });
    expect(await statusesOf([ticket.id])).toEqual(['booked']);
    expect(await eventNow(event.id)).toMatchObject({ tickets_sold: 1, tickets_available: 0 });
    const other = await t.app.inject({ method: 'POST', url: '/book', headers: stranger.auth, payload: { event_id: event.id } });
    expect(other.statusCode).toBe(400);
    const stats = (await t.app.inject({ url: `/events/${event.id}/stats`, headers: owner.auth })).json<{ sold: number; checked_in: number }>();
    expect(stats).toMatchObject({ sold: 1, checked_in: 1 });
  });

  it('when one ticket of an order was admitted, then cancelling the order is refused whole; its other tickets can still be cancelled one by one', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 5 });
    const placed = await t.app.inject({ method: 'POST', url: '/orders', headers: buyer.auth, payload: { event_id: event.id, quantity: 3 } });
    const order = placed.json<{ id: number; tickets: TicketBody[] }>();
    expect((await scan(event.id, order.tickets[1]!.code)).statusCode).toBe(200);

    const refused = await cancelOrder(order.id);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toEqual({ detail: 'Ticket already checked in' });
    const ids = order.tickets.map((ticket) => ticket.id);
    expect(await statusesOf(ids)).toEqual(['booked', 'booked', 'booked']);
    expect((await t.app.inject({ url: `/orders/${order.id}`, headers: buyer.auth })).json<{ status: string }>().status).toBe('confirmed');
    expect(await eventNow(event.id)).toMatchObject({ tickets_sold: 3 });

    expect((await cancelTicket(order.tickets[0]!.id)).statusCode).toBe(200);
    expect(await statusesOf(ids)).toEqual(['cancelled', 'booked', 'booked']);
    expect(await eventNow(event.id)).toMatchObject({ tickets_sold: 2 });
  });

  it('when the doors scan and the holder cancels at once, then exactly one of the two happens, each time', async () => {
    const post = (path: string, user: TestUser, body?: object) =>
      fetch(`${t.baseUrl}${path}`, {
        method: 'POST',
        headers: { ...user.auth, 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      }).then((response) => response.status);
    for (let round = 0; round < 6; round++) {
      const event = await createEvent(t.app, owner, { total_tickets: 4 });
      const order = (
        await t.app.inject({ method: 'POST', url: '/orders', headers: buyer.auth, payload: { event_id: event.id, quantity: 2 } })
      ).json<{ id: number; tickets: TicketBody[] }>();
      const [ticket, other] = order.tickets as [TicketBody, TicketBody];
      const single = await book(event.id);
      const [scanned, orderCancel, scannedSingle, singleCancel] = await Promise.all([
        post(`/events/${event.id}/check-in`, owner, { code: ticket.code }),
        post(`/orders/${order.id}/cancel`, buyer),
        post(`/events/${event.id}/check-in`, owner, { code: single.code }),
        post(`/tickets/${single.id}/cancel`, buyer),
      ]);
      // The order: admitted and kept whole, or cancelled whole and then refused at the door.
      expect([scanned, orderCancel].sort()).toEqual([200, 409]);
      expect(await statusesOf([ticket.id, other.id])).toEqual(orderCancel === 200 ? ['cancelled', 'cancelled'] : ['booked', 'booked']);
      expect([scannedSingle, singleCancel].sort()).toEqual([200, 409]);
      expect(await statusesOf([single.id])).toEqual([singleCancel === 200 ? 'cancelled' : 'booked']);
      expect((await eventNow(event.id)).tickets_sold).toBe((orderCancel === 200 ? 0 : 2) + (singleCancel === 200 ? 0 : 1));
    }
    expect(await findInventoryDrift(t.testDb.database)).toEqual([]);
  });
});

describe('GET /tickets/{id}/qr.svg and .png', () => {
  it('when the holder asks, then the SVG and the PNG are the QR code of the ticket, never cached by others', async () => {
    const event = await createEvent(t.app, owner);
    const ticket = await book(event.id);

    const svg = await fetch(`${t.baseUrl}/tickets/${ticket.id}/qr.svg`, { headers: buyer.auth });
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(svg.headers.get('cache-control')).toBe('private, no-store');
    const text = await svg.text();
    expect(text.startsWith('<svg')).toBe(true);
    expect(text).toContain('<path');

    const png = await fetch(`${t.baseUrl}/tickets/${ticket.id}/qr.png`, { headers: buyer.auth });
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await png.arrayBuffer());
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  it('when someone else asks, then 403; an unknown ticket 404; a cancelled one 409; no token 401', async () => {
    const event = await createEvent(t.app, owner);
    const ticket = await book(event.id);
    expect((await t.app.inject({ url: `/tickets/${ticket.id}/qr.svg`, headers: stranger.auth })).statusCode).toBe(403);
    // The organizer scans codes; the image is the holder's.
    expect((await t.app.inject({ url: `/tickets/${ticket.id}/qr.png`, headers: owner.auth })).statusCode).toBe(403);
    expect((await t.app.inject({ url: '/tickets/999999/qr.svg', headers: buyer.auth })).statusCode).toBe(404);
    expect((await t.app.inject({ url: `/tickets/${ticket.id}/qr.svg` })).statusCode).toBe(401);
    await t.app.inject({ method: 'POST', url: `/tickets/${ticket.id}/cancel`, headers: buyer.auth });
    const cancelled = await t.app.inject({ url: `/tickets/${ticket.id}/qr.png`, headers: buyer.auth });
    expect(cancelled.statusCode).toBe(409);
    expect(cancelled.json()).toEqual({ detail: 'Ticket was cancelled' });
  });
});

describe('the OpenAPI document', () => {
  it('then check-in and the QR images are documented with their errors and bearer security', async () => {
    const doc = (await t.app.inject({ url: '/docs/json' })).json<{ paths: Record<string, Record<string, { tags: string[]; security: unknown[]; responses: Record<string, unknown> }>> }>();
    const checkIn = doc.paths['/events/{id}/check-in']!.post!;
    expect(checkIn.tags).toEqual(['check-in']);
    expect(checkIn.security).toEqual([{ OAuth2PasswordBearer: [] }]);
    expect(Object.keys(checkIn.responses).sort()).toEqual(['200', '400', '401', '403', '404', '409', '422']);
    expect(JSON.stringify(doc.paths['/tickets/{id}/qr.png']!.get!.responses['200'])).toContain('image/png');
    expect(JSON.stringify(doc.paths['/tickets/{id}/qr.svg']!.get!.responses['200'])).toContain('image/svg+xml');
  });
});
