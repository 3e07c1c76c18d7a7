import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { csvCell, prefersCsv, toCsv } from '../src/organizers/csv.js';
import { setUpTestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, uniqueEmail, type EventBody, type TestUser } from './helpers/factories.js';

interface Stats {
  event_id: number;
  capacity: number;
  sold: number;
  held: number;
  available: number;
  cancelled: number;
  checked_in: number;
  revenue: string;
  currency: string;
  sales_per_hour: { hour: string; sold: number }[];
}

interface Attendee {
  ticket_id: number;
  user_id: number;
  email: string;
  status: string;
  purchase_date: string;
  checked_in_at: string | null;
  price: string;
}

const { t, owner, stranger } = setUpTestApp({ users: ['owner', 'stranger'] });

async function book(eventId: number, user: TestUser): Promise<{ id: number; code: string }> {
  const response = await t.app.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: eventId } });
  expect(response.statusCode).toBe(200);
  return response.json<{ id: number; code: string }>();
}

/** Five tickets of one event: 4 booked (1 checked in), 1 cancelled; one buyer's email starts with "=". */
async function soldEvent(): Promise<{ event: EventBody; buyers: TestUser[]; tickets: { id: number; code: string }[] }> {
  const event = await createEvent(t.app, owner, { ticket_price: '19.99', total_tickets: 10 });
  const buyers = [
    await registerAndLogin(t.app, `=HYPERLINK-${uniqueEmail()}`),
    await registerAndLogin(t.app, `+1-${uniqueEmail()}`),
    await registerAndLogin(t.app),
  ];
  const tickets = [];
  for (const buyer of [...buyers, buyers[0]!, buyers[1]!]) tickets.push(await book(event.id, buyer));
  await t.app.inject({ method: 'POST', url: `/tickets/${tickets[4]!.id}/cancel`, headers: buyers[1]!.auth });
  await t.app.inject({ method: 'POST', url: `/events/${event.id}/check-in`, headers: owner.auth, payload: { code: tickets[0]!.code } });
  return { event, buyers, tickets };
}

describe('GET /events/{id}/stats', () => {
  it('when the owner asks, then it answers capacity, sold, cancelled, checked in, exact revenue and sales per hour', async () => {
    const { event } = await soldEvent();
    // Sales spread over two hours (the purchase time is data like any other): two at 10:05, two at 12:10 and 12:59.
    await t.testDb.database.db.execute(
      sql`UPDATE tickets t SET purchase_date = CASE WHEN n.rank <= 2 THEN timestamptz '2026-01-01T10:05:00Z'
                                                 WHEN n.rank = 3 THEN timestamptz '2026-01-01T12:10:00Z'
                                                 ELSE timestamptz '2026-01-01T12:59:59Z' END
          FROM (SELECT id, row_number() OVER (ORDER BY id) AS rank FROM tickets WHERE event_id = ${event.id} AND status = 'booked') n
          WHERE t.id = n.id`,
    );
    const response = await t.app.inject({ url: `/events/${event.id}/stats`, headers: owner.auth });
    expect(response.statusCode).toBe(200);
    const stats = response.json<Stats>();
    expect(stats).toMatchObject({ event_id: event.id, capacity: 10, sold: 4, held: 0, available: 6, cancelled: 1, checked_in: 1 });
    // 4 × 19.99 in decimal: a float sum would say 79.96000000000001.
    expect(stats.revenue).toBe('79.96');
    expect(stats.sales_per_hour).toEqual([
      { hour: '2026-01-01T10:00:00.000Z', sold: 2 },
      { hour: '2026-01-01T12:00:00.000Z', sold: 2 },
    ]);
  });

  it('when the price changes between sales, then revenue and the attendee list keep what each buyer paid', async () => {
    const event = await createEvent(t.app, owner, { ticket_price: '10.00', total_tickets: 10 });
    const [early, late, holder] = [await registerAndLogin(t.app), await registerAndLogin(t.app), await registerAndLogin(t.app)];
    await book(event.id, early);
    const order = await t.app.inject({ method: 'POST', url: '/orders', headers: early.auth, payload: { event_id: event.id, quantity: 2 } });
    const hold = await t.app.inject({ method: 'POST', url: '/orders', headers: holder.auth, payload: { event_id: event.id, quantity: 2, hold: true } });
    expect([order.statusCode, hold.statusCode]).toEqual([200, 200]);
    const patched = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: { ticket_price: '25.50' } });
    expect(patched.statusCode).toBe(200);
    await book(event.id, late);
    // The hold was priced when it was made: confirming it after the edit charges the old price.
    const confirmed = await t.app.inject({ method: 'POST', url: `/orders/${hold.json<{ id: number }>().id}/confirm`, headers: holder.auth });
    expect(confirmed.json<{ total_price: string }>().total_price).toBe('20.00');
    await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: { ticket_price: '99.00' } });

    const stats = (await t.app.inject({ url: `/events/${event.id}/stats`, headers: owner.auth })).json<Stats>();
    // 5 seats at 10.00 (one booking, an order of two, a hold of two) and 1 at 25.50.
    expect(stats).toMatchObject({ sold: 6, revenue: '75.50' });
    const list = (await t.app.inject({ url: `/events/${event.id}/attendees`, headers: owner.auth })).json<{ attendees: Attendee[] }>();
    expect(list.attendees.map((a) => a.price)).toEqual(['10.00', '10.00', '10.00', '25.50', '10.00', '10.00']);
    expect(order.json<{ total_price: string }>().total_price).toBe('20.00');
  });

  it('when nothing is sold, then the figures are zero and revenue is "0.00"', async () => {
    const event = await createEvent(t.app, owner, { ticket_price: '5.00', total_tickets: 3 });
    const stats = (await t.app.inject({ url: `/events/${event.id}/stats`, headers: owner.auth })).json<Stats>();
    expect(stats).toEqual({ event_id: event.id, capacity: 3, sold: 0, held: 0, available: 3, cancelled: 0, checked_in: 0, revenue: '0.00', currency: 'EUR', sales_per_hour: [] });
  });

  it('when another user asks, then 403; an admin may; an unknown event is 404', async () => {
    const event = await createEvent(t.app, owner);
    expect((await t.app.inject({ url: `/events/${event.id}/stats`, headers: stranger.auth })).statusCode).toBe(403);
    expect((await t.app.inject({ url: `/events/${event.id}/stats` })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/events/999999/stats', headers: owner.auth })).statusCode).toBe(404);
    const admin = await registerAndLogin(t.app);
    await t.testDb.database.db.execute(sql`UPDATE users SET role = 'admin' WHERE id = ${admin.id}`);
    expect((await t.app.inject({ url: `/events/${event.id}/stats`, headers: admin.auth })).statusCode).toBe(200);
  });
});

describe('GET /me/events', () => {
  it('when an owner asks, then only their events come, soonest first, a page at a time; without a token 401', async () => {
    const mine = await registerAndLogin(t.app);
    const later = await createEvent(t.app, mine, { event_name: 'Later', date: '2032-01-01T00:00:00Z', currency: 'CHF' });
    const sooner = await createEvent(t.app, mine, { event_name: 'Sooner', date: '2031-01-01T00:00:00Z' });
    await createEvent(t.app, stranger, { event_name: 'Not mine' });
    const response = await t.app.inject({ url: '/me/events?limit=100', headers: mine.auth });
    expect(response.statusCode).toBe(200);
    expect(response.json<EventBody[]>().map((e) => [e.id, e.currency])).toEqual([[sooner.id, 'EUR'], [later.id, 'CHF']]);
    const second = await t.app.inject({ url: '/me/events?skip=1&limit=1', headers: mine.auth });
    expect(second.json<EventBody[]>().map((e) => e.event_name)).toEqual(['Later']);
    expect((await t.app.inject({ url: '/me/events' })).statusCode).toBe(401);
  });
});

describe('GET /events/{id}/attendees', () => {
  it('when asked for JSON, then the event comes once and the attendees a page at a time, in ticket order', async () => {
    const { event, buyers, tickets } = await soldEvent();
    const all = await t.app.inject({ url: `/events/${event.id}/attendees`, headers: owner.auth });
    expect(all.statusCode).toBe(200);
    const body = all.json<{ event: EventBody; attendees: Attendee[] }>();
    expect(body.event).toMatchObject({ id: event.id, event_name: event.event_name, tickets_sold: 4 });
    expect(body.attendees.map((a) => a.ticket_id)).toEqual(tickets.map((ticket) => ticket.id));
    expect(body.attendees[0]).toEqual({
      ticket_id: tickets[0]!.id,
      user_id: buyers[0]!.id,
      email: buyers[0]!.email,
      status: 'booked',
      purchase_date: expect.any(String),
      checked_in_at: expect.any(String),
      price: '19.99',
    });
    expect(body.attendees[4]!.status).toBe('cancelled');
    expect(JSON.stringify(body)).not.toContain(tickets[0]!.code);

    const page = await t.app.inject({ url: `/events/${event.id}/attendees?skip=1&limit=2`, headers: owner.auth });
    expect(page.json<{ attendees: Attendee[] }>().attendees.map((a) => a.ticket_id)).toEqual([tickets[1]!.id, tickets[2]!.id]);
  });

  it('when asked for CSV, then it has a header row, one line per ticket, and formula-looking values are defused', async () => {
    const { event, buyers, tickets } = await soldEvent();
    const response = await t.app.inject({ url: `/events/${event.id}/attendees`, headers: { ...owner.auth, accept: 'text/csv' } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toBe(`attachment; filename="event-${event.id}-attendees.csv"`);
    const lines = response.body.split('\r\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toBe('ticket_id,user_id,email,status,purchase_date,checked_in_at,price,currency');
    expect(lines[1]).toMatch(new RegExp(`^${tickets[0]!.id},${buyers[0]!.id},'=HYPERLINK-[^,]+,booked,\\d{4}-[^,]+Z,\\d{4}-[^,]+Z,19\\.99,EUR$`));
    expect(lines[2]).toMatch(new RegExp(`^${tickets[1]!.id},${buyers[1]!.id},'\\+1-[^,]+,booked,[^,]+,,19\\.99,EUR$`));
    expect(lines[5]).toMatch(/,cancelled,/);

    const page = await t.app.inject({ url: `/events/${event.id}/attendees?limit=1&skip=4`, headers: { ...owner.auth, accept: 'text/csv' } });
    expect(page.body.split('\r\n').filter(Boolean)).toHaveLength(2);
  });

  it('when the Accept header prefers JSON, or is absent, then JSON; a stranger gets 403; bad paging 422', async () => {
    const event = await createEvent(t.app, owner);
    const json = await t.app.inject({ url: `/events/${event.id}/attendees`, headers: { ...owner.auth, accept: 'application/json, text/csv;q=0.5' } });
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.json()).toMatchObject({ attendees: [] });
    expect((await t.app.inject({ url: `/events/${event.id}/attendees`, headers: stranger.auth })).statusCode).toBe(403);
    expect((await t.app.inject({ url: `/events/${event.id}/attendees?limit=0`, headers: owner.auth })).statusCode).toBe(422);
    expect((await t.app.inject({ url: `/events/${event.id}/attendees?limit=1001`, headers: owner.auth })).statusCode).toBe(422);
  });
});

describe('CSV cells', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['=1+2', "'=1+2"],
    ['+33 1 23', "'+33 1 23"],
    ['-5', "'-5"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    [42, '42'],
    [null, ''],
  ])('when the value is %j, then the cell is %j', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it('when rows are joined, then every line ends with CRLF', () => {
    expect(toCsv(['a', 'b'], [[1, 'x,y']])).toBe('a,b\r\n1,"x,y"\r\n');
  });

  it.each([
    ['text/csv', true],
    ['text/csv;q=0.9, application/json', false],
    ['application/json;q=0.5, text/csv', true],
    ['*/*', false],
    [undefined, false],
    ['text/csv;q=0', false],
  ])('when Accept is %j, then CSV is %s', (accept, csv) => {
    expect(prefersCsv(accept)).toBe(csv);
  });
});
