import { describe, expect, it } from 'vitest';
import { setUpTestApp } from './helpers/build-test-app.js';
import { createEvent } from './helpers/factories.js';
import { countBooked } from './helpers/test-db.js';

const { t, owner, buyer } = setUpTestApp({ users: ['owner', 'buyer'], checkInventory: true });

const book = (eventId: number, user = buyer) =>
  t.app.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: eventId } });
const cancel = (ticketId: number, user = buyer) =>
  t.app.inject({ method: 'POST', url: `/tickets/${ticketId}/cancel`, headers: user.auth });

describe('POST /book', () => {
  it('when seats are left, then it answers the Ticket with its event embedded', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 3 });
    const response = await book(event.id);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      id: expect.any(Number),
      event_id: event.id,
      user_id: buyer.id,
      status: 'booked',
      purchase_date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T.*Z$/),
      code: expect.stringMatching(/^[0-9a-f]{14}[A-Za-z0-9_-]{22}$/),
      checked_in_at: null,
      event: { ...event, tickets_sold: 1, tickets_available: 2 },
    });
  });

  it('when the event is sold out, then it answers 400 Sold Out and books nothing', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 1 });
    expect((await book(event.id)).statusCode).toBe(200);
    const response = await book(event.id);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ detail: 'Sold Out' });
    expect(await countBooked(t.testDb.database, event.id)).toBe(1);
  });

  it('when the event does not exist, then 404', async () => {
    const response = await book(987654);
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ detail: 'Event not found' });
  });

  it.each([{ event_id: 0 }, { event_id: '1x' }, { event_id: 1.5 }, { event_id: 2 ** 31 }, {}, { event_id: null }])(
    'when the body is %j, then 422',
    async (payload) => {
      const response = await t.app.inject({ method: 'POST', url: '/book', headers: buyer.auth, payload });
      expect(response.statusCode).toBe(422);
    },
  );
});

describe('POST /tickets/{id}/cancel', () => {
  it('when the holder cancels, then the ticket is cancelled and its seat sells again, even right after a sell-out', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 1 });
    const ticket = (await book(event.id)).json<{ id: number }>();
    expect((await book(event.id)).statusCode).toBe(400); // now known sold out in memory
    const response = await cancel(ticket.id);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: ticket.id, status: 'cancelled', event: { tickets_sold: 0 } });
    expect((await book(event.id)).statusCode).toBe(200);
  });

  it('when the capacity grows after a sell-out, then the new seats sell at once', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 1 });
    await book(event.id);
    expect((await book(event.id)).statusCode).toBe(400);
    await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: { total_tickets: 2 } });
    expect((await book(event.id)).statusCode).toBe(200);
  });

  it('when it is cancelled twice, then the second answers 400', async () => {
    const event = await createEvent(t.app, owner);
    const ticket = (await book(event.id)).json<{ id: number }>();
    await cancel(ticket.id);
    const again = await cancel(ticket.id);
    expect(again.statusCode).toBe(400);
    expect(again.json()).toEqual({ detail: 'Ticket already cancelled' });
  });

  it('when another user cancels, then 403; an unknown ticket, 404', async () => {
    const event = await createEvent(t.app, owner);
    const ticket = (await book(event.id)).json<{ id: number }>();
    expect((await cancel(ticket.id, owner)).statusCode).toBe(403);
    expect((await cancel(99999999)).statusCode).toBe(404);
  });
});
