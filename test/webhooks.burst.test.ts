import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setRoleByEmail } from '../src/auth/roles.js';
import { queryRows } from '../src/db/client.js';
import { resourceKeyOf } from '../src/webhooks/partitions.js';
import { buildTestApp, closeCheckingInventory, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { expireHold } from './helpers/orders.js';
import { startWebhookReceiver, verifyDelivery, type ReceivedWebhook, type WebhookReceiver } from './helpers/webhook-receiver.js';

// The seat changes' webhooks end to end: the real app (its batcher, promoter, sweeper and delivery worker),
// a real receiver on loopback. A burst of bookings (with holds expiring on the way and a sell-out), cancels
// and waiting-list offers; the database says what changed, and each change arrives exactly once, signed,
// in outbox order per resource (event, ticket, order).
let t: TestApp;
let receiver: WebhookReceiver;
let organizer: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOKS_POLL_MS: '20' });
  receiver = await startWebhookReceiver();
  organizer = await registerAndLogin(t.app);
  await setRoleByEmail(t.testDb.database.db, organizer.email, 'organizer');
});
afterAll(async () => {
  await closeCheckingInventory(t);
  await receiver.close();
});

async function subscribe(events: string[], eventId?: number): Promise<{ id: number; secret: string; path: string }> {
  const path = `/burst-${randomBytes(4).toString('hex')}`;
  const payload = { url: `${receiver.url}${path}`, events, ...(eventId === undefined ? {} : { event_id: eventId }) };
  const response = await t.app.inject({ method: 'POST', url: '/webhooks', headers: organizer.auth, payload });
  expect(response.statusCode, response.body).toBe(201);
  return { ...response.json<{ id: number; secret: string }>(), path };
}

const post = (user: TestUser, url: string, payload: Record<string, unknown> = {}) => t.app.inject({ method: 'POST', url, headers: user.auth, payload });
const at = (path: string) => receiver.received.filter((r) => r.path === path);
const seq = (delivery: ReceivedWebhook) => Number(delivery.id.slice('msg_'.length));
const idsOf = (deliveries: ReceivedWebhook[], type: string) => deliveries.filter((d) => d.json.type === type).map((d) => d.json.data.id as number);
const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

describe('when bookings, expiries, a sell-out, cancels and waiting-list offers come in a burst', () => {
  it('then each change arrives exactly once, signed, in order per resource', { timeout: 60_000 }, async () => {
    const db = t.testDb.database.db;
    const event = await createEvent(t.app, organizer, { total_tickets: 12 });
    const everything = await subscribe(['order.expired', 'ticket.booked', 'ticket.cancelled', 'waitlist.offered', 'event.sold_out'], event.id);
    const bookedOnly = await subscribe(['ticket.booked']);
    const buyers = await Promise.all(Array.from({ length: 16 }, () => registerAndLogin(t.app)));

    // Two holds, then overdue: the first batch (or the sweeper, whichever comes first) expires them.
    const holds: number[] = [];
    for (const buyer of buyers.slice(0, 2)) {
      const placed = await post(buyer, '/orders', { event_id: event.id, quantity: 1, hold: true });
      expect(placed.statusCode, placed.body).toBe(200);
      holds.push(placed.json<{ id: number }>().id);
    }
    for (const id of holds) await expireHold(t.testDb.database, id);

    // 14 buyers at once for 12 seats: 12 tickets, 2 sold out (400, as the old service answered), one sell-out.
    const bookings = await Promise.all(buyers.slice(2).map((buyer) => post(buyer, '/book', { event_id: event.id })));
    expect(bookings.map((b) => b.statusCode).sort()).toEqual([...Array(12).fill(200), 400, 400]);
    const tickets = bookings.filter((b) => b.statusCode === 200).map((b) => ({ id: b.json<{ id: number }>().id, owner: buyers[2 + bookings.indexOf(b)]! }));

    // Three in line; three cancels at once give their seats to the line as holds.
    for (const buyer of buyers.slice(0, 2).concat(buyers[15]!)) expect((await post(buyer, `/events/${event.id}/waitlist`)).statusCode).toBe(201);
    const cancels = await Promise.all(tickets.slice(0, 3).map((ticket) => post(ticket.owner, `/tickets/${ticket.id}/cancel`)));
    expect(cancels.map((c) => c.statusCode)).toEqual([200, 200, 200]);
    // A second cancel of the same ticket changes nothing and sends nothing.
    expect((await post(tickets[0]!.owner, `/tickets/${tickets[0]!.id}/cancel`)).statusCode).not.toBe(200);

    // What committed, according to the database.
    const booked = await queryRows<{ id: number }>(db, sql`SELECT id FROM tickets WHERE event_id = ${event.id} ORDER BY id`);
    const cancelled = await queryRows<{ id: number }>(db, sql`SELECT id FROM tickets WHERE event_id = ${event.id} AND status = 'cancelled'`);
    const expired = await queryRows<{ id: number }>(db, sql`SELECT id FROM orders WHERE event_id = ${event.id} AND status = 'expired'`);
    const expected = expired.length + booked.length + cancelled.length + 3 + 1;
    await receiver.waitFor(() => at(everything.path).length >= expected && at(bookedOnly.path).length >= booked.length, 30_000);
    // Then until nothing is left to send, so that a duplicate would be here too.
    await expect.poll(async () => (await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM webhook_outbox WHERE status <> 'succeeded'`))[0]!.n, { timeout: 15_000 }).toBe(0);
    const offered = await queryRows<{ id: number }>(db, sql`SELECT id FROM orders WHERE event_id = ${event.id} AND status = 'pending'`);
    expect(offered).toHaveLength(3);

    const all = at(everything.path);
    expect(all).toHaveLength(expected);
    expect(new Set(all.map((d) => d.id)).size).toBe(expected);
    for (const delivery of all) verifyDelivery(everything.secret, delivery);
    for (const delivery of at(bookedOnly.path)) verifyDelivery(bookedOnly.secret, delivery);
    expect(sorted(idsOf(all, 'order.expired'))).toEqual(sorted(holds));
    expect(sorted(idsOf(all, 'ticket.booked'))).toEqual(booked.map((r) => r.id));
    expect(sorted(idsOf(all, 'ticket.cancelled'))).toEqual(sorted(cancelled.map((r) => r.id)));
    expect(sorted(idsOf(all, 'waitlist.offered'))).toEqual(sorted(offered.map((r) => r.id)));
    expect(idsOf(all, 'event.sold_out')).toEqual([event.id]);

    // In outbox order per resource, and so in the order of its changes: each cancelled ticket's booked first.
    const byResource = new Map<string, ReceivedWebhook[]>();
    for (const d of all) byResource.set(resourceKeyOf(d.json), [...(byResource.get(resourceKeyOf(d.json)) ?? []), d]);
    for (const [key, deliveries] of byResource) expect(deliveries.map(seq), key).toEqual(sorted(deliveries.map(seq)));
    for (const { id } of cancelled) expect(byResource.get(`ticket:${id}`)!.map((d) => d.json.type)).toEqual(['ticket.booked', 'ticket.cancelled']);
    // The owner-wide endpoint gets the same tickets, and nothing else.
    expect(at(bookedOnly.path).map((d) => d.json.type)).toEqual(Array(booked.length).fill('ticket.booked'));
    expect(sorted(idsOf(at(bookedOnly.path), 'ticket.booked'))).toEqual(booked.map((r) => r.id));
  });
});
