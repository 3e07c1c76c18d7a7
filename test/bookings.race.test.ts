import { describe, expect, it } from 'vitest';
import { BookingBatcher } from '../src/inventory/batcher.js';
import { setUpTestApp } from './helpers/build-test-app.js';
import { bookOverHttp, createEvent, type EventBody } from './helpers/factories.js';
import { tally } from './helpers/tally.js';
import { countBooked } from './helpers/test-db.js';
import { SeatChanges } from '../src/inventory/seat-changes.js';
import { SoldOutMemory } from '../src/inventory/sold-out.js';
import type { Database } from '../src/db/client.js';

// A batcher of its own, without the app: its changes go nowhere, and it never remembers "sold out".
function plainBatcher(database: Database, maxBatchSize: number, queueLimit: number): BookingBatcher {
  const changes = new SeatChanges();
  return new BookingBatcher(database, { maxBatchSize, queueLimit, changes, soldOut: new SoldOutMemory(changes, { ttlMs: 0 }) });
}

// Races go through the real server on a real port, many connections at once; they assert counts and the
// invariant, never timings.

const { t, owner, crowd: buyers } = setUpTestApp({ users: ['owner'], crowd: 40, checkInventory: true });

describe('when many buyers race for the last seats', () => {
  it('then 400 requests from 40 users for 50 seats sell exactly 50 and refuse 350 with Sold Out', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 50 });
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) => bookOverHttp(t.baseUrl, buyers[i % buyers.length]!.token, event.id)),
    );
    expect(tally(results.map((r) => r.status))).toEqual({ 200: 50, 400: 350 });
    for (const result of results.filter((r) => r.status === 400)) expect(result.body).toEqual({ detail: 'Sold Out' });
    const ticketIds = new Set(results.filter((r) => r.status === 200).map((r) => r.body.id));
    expect(ticketIds.size).toBe(50);
    expect(await countBooked(t.testDb.database, event.id)).toBe(50);
    const after = (await t.app.inject({ url: `/events/${event.id}` })).json<EventBody>();
    expect(after.tickets_sold).toBe(50);
  });

  it('then twenty simultaneous cancels of one ticket cancel it once and return one seat', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 5 });
    const holder = buyers[0]!;
    const ticket = await bookOverHttp(t.baseUrl, holder.token, event.id);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${t.baseUrl}/tickets/${String(ticket.body.id)}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${holder.token}` } }),
      ),
    );
    expect(tally(results.map((r) => r.status))).toEqual({ 200: 1, 400: 19 });
    const after = (await t.app.inject({ url: `/events/${event.id}` })).json<EventBody>();
    expect(after.tickets_sold).toBe(0);
  });

  it('then capacity cuts racing with bookings never leave more sold than the capacity', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 100 });
    const bookings = Array.from({ length: 150 }, (_, i) => bookOverHttp(t.baseUrl, buyers[i % buyers.length]!.token, event.id));
    const cuts = [90, 60, 75, 40, 120].map((total) =>
      fetch(`${t.baseUrl}/events/${event.id}`, {
        method: 'PATCH',
        headers: { ...owner.auth, 'content-type': 'application/json' },
        body: JSON.stringify({ total_tickets: total }),
      }),
    );
    const [bookResults, cutResults] = await Promise.all([Promise.all(bookings), Promise.all(cuts)]);
    for (const response of cutResults) expect([200, 400]).toContain(response.status);
    const sold = bookResults.filter((r) => r.status === 200).length;
    const after = (await t.app.inject({ url: `/events/${event.id}` })).json<EventBody>();
    expect(after.tickets_sold).toBe(sold);
    expect(after.tickets_sold).toBeLessThanOrEqual(after.total_tickets);
    expect(await countBooked(t.testDb.database, event.id)).toBe(sold);
  });

  it('then seats go in arrival order when a batch asks for more than remain', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 4 });
    const batcher = plainBatcher(t.testDb.database, 100, 100);
    // The first call starts a batch of one at once; the other nine queue behind it in call order and go
    // together as the next batch, which has three seats for nine buyers.
    const outcomes = await Promise.allSettled(buyers.slice(0, 10).map((buyer) => batcher.book(event.id, buyer.id)));
    expect(outcomes.map((o) => o.status)).toEqual([...Array(4).fill('fulfilled'), ...Array(6).fill('rejected')]);
    const holders = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.user_id] : []));
    expect(holders).toEqual(buyers.slice(0, 4).map((buyer) => buyer.id));
  });

  it('then a full queue answers 503 with Retry-After instead of growing', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 1000 });
    const batcher = plainBatcher(t.testDb.database, 2, 3);
    const outcomes = await Promise.allSettled(buyers.slice(0, 10).map((buyer) => batcher.book(event.id, buyer.id)));
    const refused = outcomes.filter((o) => o.status === 'rejected');
    // one batch in flight takes the first buyer, three wait, six are turned away
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(4);
    expect(refused).toHaveLength(6);
    for (const o of refused) expect((o as PromiseRejectedResult).reason).toMatchObject({ statusCode: 503, headers: { 'Retry-After': '1' } });
  });
});
