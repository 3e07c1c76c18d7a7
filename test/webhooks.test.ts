import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { createEvent } from './helpers/factories.js';
import { verifyDelivery } from './helpers/webhook-receiver.js';
import { useWebhooksApp } from './helpers/webhooks-app.js';
import { TicketOut } from '../src/shapes/tickets.js';
import { EventOut } from '../src/shapes/events.js';

// Webhooks end to end: endpoints, and what each change delivers (test/helpers/webhooks-app.ts: the real app
// with its own delivery worker, a real receiver on loopback). The receiver's misbehaviours: webhooks.receivers.test.ts.
const w = useWebhooksApp();

describe('webhook endpoints', () => {
  it('when an organizer registers one for their event, then the secret is answered once and never listed', async () => {
    const event = await createEvent(w.t.app, w.organizer);
    const created = await w.subscribe(w.organizer, ['ticket.checked_in'], event.id);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.scope).toBe('event');
    const list = await w.t.app.inject({ method: 'GET', url: '/webhooks', headers: w.organizer.auth });
    const mine = list.json<Record<string, unknown>[]>().find((w) => w.id === created.id);
    expect(mine).toMatchObject({ id: created.id, event_id: event.id, events: ['ticket.checked_in'] });
    expect(mine).not.toHaveProperty('secret');
  });

  it('when someone else asks for an event they do not own, or a customer for all their events, then 403', async () => {
    const event = await createEvent(w.t.app, w.organizer);
    const foreign = await w.t.app.inject({ method: 'POST', url: '/webhooks', headers: w.buyer.auth, payload: { url: 'https://example.com/h', events: ['ticket.booked'], event_id: event.id } });
    expect(foreign.statusCode).toBe(403);
    const everything = await w.t.app.inject({ method: 'POST', url: '/webhooks', headers: w.buyer.auth, payload: { url: 'https://example.com/h', events: ['ticket.booked'] } });
    expect(everything.statusCode).toBe(403);
    const missing = await w.t.app.inject({ method: 'POST', url: '/webhooks', headers: w.organizer.auth, payload: { url: 'https://example.com/h', events: ['ticket.booked'], event_id: 2147483647 } });
    expect(missing.statusCode).toBe(404);
  });

  it('when an admin registers one without an event, then it covers all events and the admin manages anyone’s endpoints', async () => {
    const all = await w.subscribe(w.admin, ['event.updated']);
    expect(all.scope).toBe('all');
    const event = await createEvent(w.t.app, w.organizer);
    const theirs = await w.subscribe(w.organizer, ['event.updated'], event.id);
    const adminList = (await w.t.app.inject({ method: 'GET', url: '/webhooks', headers: w.admin.auth })).json<{ id: number }[]>();
    expect(adminList.map((w) => w.id)).toEqual(expect.arrayContaining([all.id, theirs.id]));
    expect((await w.t.app.inject({ method: 'DELETE', url: `/webhooks/${theirs.id}`, headers: w.buyer.auth })).statusCode).toBe(403);
    expect((await w.t.app.inject({ method: 'DELETE', url: `/webhooks/${theirs.id}`, headers: w.admin.auth })).statusCode).toBe(204);
    expect((await w.t.app.inject({ method: 'DELETE', url: `/webhooks/${all.id}`, headers: w.admin.auth })).statusCode).toBe(204);
    expect((await w.t.app.inject({ method: 'DELETE', url: `/webhooks/${all.id}`, headers: w.admin.auth })).statusCode).toBe(404);
  });

  it('when the body is bad (unknown event type, not a URL, an ftp URL), then a 4xx with a detail, never a 500', async () => {
    for (const payload of [
      { url: 'https://example.com/h', events: ['ticket.sold'] },
      { url: 'https://example.com/h', events: [] },
      { url: 'not a url', events: ['ticket.booked'] },
      { url: 'ftp://example.com/h', events: ['ticket.booked'] },
      { url: 'https://user:pw@example.com/h', events: ['ticket.booked'] },
    ]) {
      const response = await w.t.app.inject({ method: 'POST', url: '/webhooks', headers: w.admin.auth, payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(422);
      expect(response.json()).toHaveProperty('detail');
    }
  });
});

describe('deliveries', () => {
  it('when a ticket is checked in, then one ticket.checked_in arrives, signed as the spec says, with the API’s ticket as data', async () => {
    const event = await createEvent(w.t.app, w.organizer);
    const hook = await w.subscribe(w.organizer, ['ticket.checked_in'], event.id);
    const ticket = await w.bookTicket(event.id);
    const scan = await w.t.app.inject({ method: 'POST', url: `/events/${event.id}/check-in`, headers: w.organizer.auth, payload: { code: ticket.code } });
    expect(scan.statusCode).toBe(200);
    const [delivery] = await w.waitAt(hook.path, 1);
    expect(verifyDelivery(hook.secret, delivery!)).toEqual(delivery!.json);
    expect(() => verifyDelivery(`whsec_${randomBytes(32).toString('base64')}`, delivery!)).toThrow();
    expect(delivery!.json).toMatchObject({ id: delivery!.id, type: 'ticket.checked_in' });
    expect(delivery!.json.data).toEqual(scan.json());
    expect(Value.Check(TicketOut, delivery!.json.data)).toBe(true);
    // A second scan is refused and changes nothing: no second webhook.
    expect((await w.t.app.inject({ method: 'POST', url: `/events/${event.id}/check-in`, headers: w.organizer.auth, payload: { code: ticket.code } })).statusCode).toBe(409);
    await w.t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/test`, headers: w.organizer.auth });
    const after = await w.waitAt(hook.path, 2);
    expect(after.map((r) => r.json.type)).toEqual(['ticket.checked_in', 'ping']);
  });

  it('when an event is edited, then event.updated carries the API’s answer; a refused edit and others’ events send nothing', async () => {
    const event = await createEvent(w.t.app, w.organizer, { total_tickets: 5 });
    const hook = await w.subscribe(w.organizer, ['event.updated']);
    expect(hook.scope).toBe('owner');
    const edited = await w.rename(event.id, 'Renamed');
    expect(edited.statusCode).toBe(200);
    await w.bookTicket(event.id);
    await w.bookTicket(event.id);
    // Capacity below the sold seats: the guarded UPDATE matches nothing, the transaction writes nothing.
    const refused = await w.t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: w.organizer.auth, payload: { total_tickets: 1, event_name: 'Never' } });
    expect(refused.statusCode).toBe(400);
    // Another owner's event is outside this endpoint's scope.
    const other = await createEvent(w.t.app, w.buyer);
    expect((await w.rename(other.id, 'Not the organizer’s', w.buyer)).statusCode).toBe(200);
    await w.t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/test`, headers: w.organizer.auth });
    const received = await w.waitAt(hook.path, 2);
    expect(received.map((r) => r.json.type)).toEqual(['event.updated', 'ping']);
    expect(received[0]!.json.data).toEqual(edited.json());
    expect(Value.Check(EventOut, received[0]!.json.data)).toBe(true);
  });

  it('when the edit’s transaction rolls back after writing its webhook, then nothing is delivered', async () => {
    const { recordWebhookEvent } = await import('../src/outbox/outbox.js');
    const event = await createEvent(w.t.app, w.organizer);
    const hook = await w.subscribe(w.organizer, ['event.updated'], event.id);
    await expect(
      w.t.testDb.database.db.transaction(async (tx) => {
        await recordWebhookEvent(tx, 'event.updated', { id: event.id, owner_id: w.organizer.id }, { rolled: 'back' });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await w.t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/test`, headers: w.organizer.auth });
    const received = await w.waitAt(hook.path, 1);
    expect(received.map((r) => r.json.type)).toEqual(['ping']);
  });

  it('when the receiver answers 500 then 200, then it gets the same webhook again, with the same id, after about 5 s', { timeout: 30_000 }, async () => {
    const event = await createEvent(w.t.app, w.organizer);
    const hook = await w.subscribe(w.organizer, ['event.updated'], event.id);
    let calls = 0;
    w.receiver.respondWith((request, response) => {
      if (request.url === hook.path && ++calls === 1) return void response.writeHead(500).end('boom');
      response.writeHead(200).end('ok');
    });
    try {
      await w.rename(event.id, 'Try twice');
      const [first, second] = await w.waitAt(hook.path, 2, 20_000);
      expect(second!.id).toBe(first!.id);
      expect(second!.body).toBe(first!.body);
      const gap = Number(second!.headers['webhook-timestamp']) - Number(first!.headers['webhook-timestamp']);
      expect(gap).toBeGreaterThanOrEqual(3);
      verifyDelivery(hook.secret, second!);
    } finally {
      w.receiver.respondWith((_request, response) => void response.writeHead(200).end('ok'));
    }
    // The worker records an attempt after the receiver has answered it: wait for the record, not the request.
    const deliveries = async () =>
      (await w.t.app.inject({ method: 'GET', url: `/webhooks/${hook.id}/deliveries`, headers: w.organizer.auth })).json<
        { id: number; status: string; attempts: number; history: { status_code: number }[]; webhook_id: string }[]
      >();
    await expect.poll(async () => (await deliveries())[0]?.status, { timeout: 10_000 }).toBe('succeeded');
    const [delivery] = await deliveries();
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 2, webhook_id: w.at(hook.path)[0]!.id });
    expect(delivery!.history.map((a) => a.status_code)).toEqual([200, 500]);

    // A replay sends it once more with the same id; replaying a pending one is refused.
    const replay = await w.t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/deliveries/${delivery!.id}/retry`, headers: w.organizer.auth });
    expect(replay.statusCode).toBe(202);
    const again = await w.waitAt(hook.path, 3);
    expect(again[2]!.id).toBe(again[0]!.id);
    const missing = await w.t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/deliveries/999999999/retry`, headers: w.organizer.auth });
    expect(missing.statusCode).toBe(404);
  });

  it('when many changes to one event follow each other, then the endpoint gets them one at a time, in order, each once', async () => {
    const event = await createEvent(w.t.app, w.organizer);
    const hook = await w.subscribe(w.organizer, ['event.updated'], event.id);
    let inFlight = 0;
    let maxInFlight = 0;
    w.receiver.respondWith(async (request, response) => {
      if (request.url !== hook.path) return void response.writeHead(200).end();
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      response.writeHead(200).end();
    });
    try {
      // Edits of one event commit one after another (its row lock); several worker loops run meanwhile.
      const names = Array.from({ length: 25 }, (_, i) => `Edit ${i}`);
      for (const name of names) expect((await w.rename(event.id, name)).statusCode).toBe(200);
      const received = await w.waitAt(hook.path, names.length);
      expect(received.map((r) => r.json.data.event_name)).toEqual(names);
      expect(new Set(received.map((r) => r.id)).size).toBe(names.length);
      expect(maxInFlight).toBe(1);
    } finally {
      w.receiver.respondWith((_request, response) => void response.writeHead(200).end('ok'));
    }
  });

  it('when an endpoint has a backlog, then one lease sends it in order over one kept connection, each attempt listed', async () => {
    const event = await createEvent(w.t.app, w.organizer);
    const hook = await w.subscribe(w.organizer, ['event.updated'], event.id);
    // The test holds the endpoint's lease, as a worker busy with it would: the changes queue up meanwhile.
    const db = w.t.testDb.database.db;
    await db.execute(sql`UPDATE webhook_endpoints SET lease_until = now() + interval '1 hour', lease_token = 'test' WHERE id = ${hook.id}`);
    const names = Array.from({ length: 30 }, (_, i) => `Backlog ${i}`);
    for (const name of names) expect((await w.rename(event.id, name)).statusCode).toBe(200);
    expect(w.at(hook.path)).toHaveLength(0);
    await db.execute(sql`UPDATE webhook_endpoints SET lease_until = NULL, lease_token = NULL WHERE id = ${hook.id}`);
    const received = await w.waitAt(hook.path, names.length);
    expect(received.map((r) => r.json.data.event_name)).toEqual(names);
    expect(new Set(received.map((r) => r.remotePort)).size).toBe(1);
    // The worker records each outcome after the receiver answers: under load the last ones land a moment
    // after the receiver has them all, so the list is read until they are there.
    const succeededOnce = async () => {
      const listed = await w.t.app.inject({ method: 'GET', url: `/webhooks/${hook.id}/deliveries?limit=100`, headers: w.organizer.auth });
      expect(listed.statusCode).toBe(200);
      return listed.json<{ status: string; attempts: number }[]>().filter((d) => d.status === 'succeeded' && d.attempts === 1).length;
    };
    await expect.poll(succeededOnce, { timeout: 10_000 }).toBe(names.length);
  });
});
