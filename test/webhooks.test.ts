import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setRoleByEmail } from '../src/auth/roles.js';
import { TicketOut } from '../src/bookings/schemas.js';
import { EventOut } from '../src/events/schemas.js';
import { buildTestApp, closeCheckingInventory, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { startWebhookReceiver, verifyDelivery, type WebhookReceiver } from './helpers/webhook-receiver.js';

// Webhooks end to end: the real app (its own delivery worker), a real receiver on loopback.
let t: TestApp;
let receiver: WebhookReceiver;
let organizer: TestUser;
let admin: TestUser;
let buyer: TestUser;

beforeAll(async () => {
  t = await buildTestApp({
    WEBHOOKS_ALLOW_PRIVATE: 'true',
    WEBHOOKS_POLL_MS: '20',
    WEBHOOKS_TIMEOUT_MS: '1500',
  });
  receiver = await startWebhookReceiver();
  organizer = await registerAndLogin(t.app);
  await setRoleByEmail(t.testDb.database.db, organizer.email, 'organizer');
  admin = await registerAndLogin(t.app);
  // Registration grants no role (issue 12): an operator promotes an existing account.
  await setRoleByEmail(t.testDb.database.db, admin.email, 'admin');
  buyer = await registerAndLogin(t.app);
});
afterAll(async () => {
  await closeCheckingInventory(t);
  await receiver.close();
});

interface Created {
  id: number;
  secret: string;
  url: string;
  scope: string;
}

/** An endpoint on its own path of the receiver, so each test sees only its own deliveries. */
async function subscribe(user: TestUser, events: string[], eventId?: number): Promise<Created & { path: string }> {
  const path = `/hook-${randomBytes(4).toString('hex')}`;
  const response = await t.app.inject({
    method: 'POST',
    url: '/webhooks',
    headers: user.auth,
    payload: { url: `${receiver.url}${path}`, events, ...(eventId === undefined ? {} : { event_id: eventId }) },
  });
  expect(response.statusCode, response.body).toBe(201);
  return { ...response.json<Created>(), path };
}

const at = (path: string) => receiver.received.filter((r) => r.path === path);
const waitAt = (path: string, count: number, timeoutMs?: number) => receiver.waitFor(() => at(path).length >= count, timeoutMs).then(() => at(path));

async function bookTicket(eventId: number) {
  const response = await t.app.inject({ method: 'POST', url: '/book', headers: buyer.auth, payload: { event_id: eventId } });
  expect(response.statusCode).toBe(200);
  return response.json<{ id: number; code: string }>();
}

async function rename(eventId: number, name: string, user = organizer) {
  return t.app.inject({ method: 'PATCH', url: `/events/${eventId}`, headers: user.auth, payload: { event_name: name } });
}

describe('webhook endpoints', () => {
  it('when an organizer registers one for their event, then the secret is answered once and never listed', async () => {
    const event = await createEvent(t.app, organizer);
    const created = await subscribe(organizer, ['ticket.checked_in'], event.id);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.scope).toBe('event');
    const list = await t.app.inject({ method: 'GET', url: '/webhooks', headers: organizer.auth });
    const mine = list.json<Record<string, unknown>[]>().find((w) => w.id === created.id);
    expect(mine).toMatchObject({ id: created.id, event_id: event.id, events: ['ticket.checked_in'] });
    expect(mine).not.toHaveProperty('secret');
  });

  it('when someone else asks for an event they do not own, or a customer for all their events, then 403', async () => {
    const event = await createEvent(t.app, organizer);
    const foreign = await t.app.inject({ method: 'POST', url: '/webhooks', headers: buyer.auth, payload: { url: 'https://example.com/h', events: ['ticket.booked'], event_id: event.id } });
    expect(foreign.statusCode).toBe(403);
    const everything = await t.app.inject({ method: 'POST', url: '/webhooks', headers: buyer.auth, payload: { url: 'https://example.com/h', events: ['ticket.booked'] } });
    expect(everything.statusCode).toBe(403);
    const missing = await t.app.inject({ method: 'POST', url: '/webhooks', headers: organizer.auth, payload: { url: 'https://example.com/h', events: ['ticket.booked'], event_id: 2147483647 } });
    expect(missing.statusCode).toBe(404);
  });

  it('when an admin registers one without an event, then it covers all events and the admin manages anyone’s endpoints', async () => {
    const all = await subscribe(admin, ['event.updated']);
    expect(all.scope).toBe('all');
    const event = await createEvent(t.app, organizer);
    const theirs = await subscribe(organizer, ['event.updated'], event.id);
    const adminList = (await t.app.inject({ method: 'GET', url: '/webhooks', headers: admin.auth })).json<{ id: number }[]>();
    expect(adminList.map((w) => w.id)).toEqual(expect.arrayContaining([all.id, theirs.id]));
    expect((await t.app.inject({ method: 'DELETE', url: `/webhooks/${theirs.id}`, headers: buyer.auth })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'DELETE', url: `/webhooks/${theirs.id}`, headers: admin.auth })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'DELETE', url: `/webhooks/${all.id}`, headers: admin.auth })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'DELETE', url: `/webhooks/${all.id}`, headers: admin.auth })).statusCode).toBe(404);
  });

  it('when the body is bad (unknown event type, not a URL, an ftp URL), then a 4xx with a detail, never a 500', async () => {
    for (const payload of [
      { url: 'https://example.com/h', events: ['ticket.sold'] },
      { url: 'https://example.com/h', events: [] },
      { url: 'not a url', events: ['ticket.booked'] },
      { url: 'ftp://example.com/h', events: ['ticket.booked'] },
      { url: 'https://user:pw@example.com/h', events: ['ticket.booked'] },
    ]) {
      const response = await t.app.inject({ method: 'POST', url: '/webhooks', headers: admin.auth, payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(422);
      expect(response.json()).toHaveProperty('detail');
    }
  });
});

describe('deliveries', () => {
  it('when a ticket is checked in, then one ticket.checked_in arrives, signed as the spec says, with the API’s ticket as data', async () => {
    const event = await createEvent(t.app, organizer);
    const hook = await subscribe(organizer, ['ticket.checked_in'], event.id);
    const ticket = await bookTicket(event.id);
    const scan = await t.app.inject({ method: 'POST', url: `/events/${event.id}/check-in`, headers: organizer.auth, payload: { code: ticket.code } });
    expect(scan.statusCode).toBe(200);
    const [delivery] = await waitAt(hook.path, 1);
    expect(verifyDelivery(hook.secret, delivery!)).toEqual(delivery!.json);
    expect(() => verifyDelivery(`whsec_${randomBytes(32).toString('base64')}`, delivery!)).toThrow();
    expect(delivery!.json).toMatchObject({ id: delivery!.id, type: 'ticket.checked_in' });
    expect(delivery!.json.data).toEqual(scan.json());
    expect(Value.Check(TicketOut, delivery!.json.data)).toBe(true);
    // A second scan is refused and changes nothing: no second webhook.
    expect((await t.app.inject({ method: 'POST', url: `/events/${event.id}/check-in`, headers: organizer.auth, payload: { code: ticket.code } })).statusCode).toBe(409);
    await t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/test`, headers: organizer.auth });
    const after = await waitAt(hook.path, 2);
    expect(after.map((r) => r.json.type)).toEqual(['ticket.checked_in', 'ping']);
  });

  it('when an event is edited, then event.updated carries the API’s answer; a refused edit and others’ events send nothing', async () => {
    const event = await createEvent(t.app, organizer, { total_tickets: 5 });
    const hook = await subscribe(organizer, ['event.updated']);
    expect(hook.scope).toBe('owner');
    const edited = await rename(event.id, 'Renamed');
    expect(edited.statusCode).toBe(200);
    await bookTicket(event.id);
    await bookTicket(event.id);
    // Capacity below the sold seats: the guarded UPDATE matches nothing, the transaction writes nothing.
    const refused = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: organizer.auth, payload: { total_tickets: 1, event_name: 'Never' } });
    expect(refused.statusCode).toBe(400);
    // Another owner's event is outside this endpoint's scope.
    const other = await createEvent(t.app, buyer);
    expect((await rename(other.id, 'Not the organizer’s', buyer)).statusCode).toBe(200);
    await t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/test`, headers: organizer.auth });
    const received = await waitAt(hook.path, 2);
    expect(received.map((r) => r.json.type)).toEqual(['event.updated', 'ping']);
    expect(received[0]!.json.data).toEqual(edited.json());
    expect(Value.Check(EventOut, received[0]!.json.data)).toBe(true);
  });

  it('when the edit’s transaction rolls back after writing its webhook, then nothing is delivered', async () => {
    const { recordWebhookEvent } = await import('../src/webhooks/outbox.js');
    const event = await createEvent(t.app, organizer);
    const hook = await subscribe(organizer, ['event.updated'], event.id);
    await expect(
      t.testDb.database.db.transaction(async (tx) => {
        await recordWebhookEvent(tx, 'event.updated', { id: event.id, owner_id: organizer.id }, { rolled: 'back' });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/test`, headers: organizer.auth });
    const received = await waitAt(hook.path, 1);
    expect(received.map((r) => r.json.type)).toEqual(['ping']);
  });

  it('when the receiver answers 500 then 200, then it gets the same webhook again, with the same id, after about 5 s', { timeout: 30_000 }, async () => {
    const event = await createEvent(t.app, organizer);
    const hook = await subscribe(organizer, ['event.updated'], event.id);
    let calls = 0;
    receiver.respondWith((request, response) => {
      if (request.url === hook.path && ++calls === 1) return void response.writeHead(500).end('boom');
      response.writeHead(200).end('ok');
    });
    try {
      await rename(event.id, 'Try twice');
      const [first, second] = await waitAt(hook.path, 2, 20_000);
      expect(second!.id).toBe(first!.id);
      expect(second!.body).toBe(first!.body);
      const gap = Number(second!.headers['webhook-timestamp']) - Number(first!.headers['webhook-timestamp']);
      expect(gap).toBeGreaterThanOrEqual(3);
      verifyDelivery(hook.secret, second!);
    } finally {
      receiver.respondWith((_request, response) => void response.writeHead(200).end('ok'));
    }
    // The worker records an attempt after the receiver has answered it: wait for the record, not the request.
    const deliveries = async () =>
      (await t.app.inject({ method: 'GET', url: `/webhooks/${hook.id}/deliveries`, headers: organizer.auth })).json<
        { id: number; status: string; attempts: number; history: { status_code: number }[]; webhook_id: string }[]
      >();
    await expect.poll(async () => (await deliveries())[0]?.status, { timeout: 10_000 }).toBe('succeeded');
    const [delivery] = await deliveries();
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 2, webhook_id: at(hook.path)[0]!.id });
    expect(delivery!.history.map((a) => a.status_code)).toEqual([200, 500]);

    // A replay sends it once more with the same id; replaying a pending one is refused.
    const replay = await t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/deliveries/${delivery!.id}/retry`, headers: organizer.auth });
    expect(replay.statusCode).toBe(202);
    const again = await waitAt(hook.path, 3);
    expect(again[2]!.id).toBe(again[0]!.id);
    const missing = await t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/deliveries/999999999/retry`, headers: organizer.auth });
    expect(missing.statusCode).toBe(404);
  });

  it('when many changes follow each other, then the endpoint gets them one at a time, in order, each once', async () => {
    const event = await createEvent(t.app, organizer);
    const hook = await subscribe(organizer, ['event.updated'], event.id);
    let inFlight = 0;
    let maxInFlight = 0;
    receiver.respondWith(async (request, response) => {
      if (request.url !== hook.path) return void response.writeHead(200).end();
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      response.writeHead(200).end();
    });
    try {
      // Edits of one event commit one after another (its row lock); several worker loops run meanwhile.
      const names = Array.from({ length: 25 }, (_, i) => `Edit ${i}`);
      for (const name of names) expect((await rename(event.id, name)).statusCode).toBe(200);
      const received = await waitAt(hook.path, names.length);
      expect(received.map((r) => r.json.data.event_name)).toEqual(names);
      expect(new Set(received.map((r) => r.id)).size).toBe(names.length);
      expect(maxInFlight).toBe(1);
    } finally {
      receiver.respondWith((_request, response) => void response.writeHead(200).end('ok'));
    }
  });

  it('when an endpoint has a backlog, then one lease sends it in order over one kept connection, each attempt listed', async () => {
    const event = await createEvent(t.app, organizer);
    const hook = await subscribe(organizer, ['event.updated'], event.id);
    // The test holds the endpoint's lease, as a worker busy with it would: the changes queue up meanwhile.
    const db = t.testDb.database.db;
    await db.execute(sql`UPDATE webhook_endpoints SET lease_until = now() + interval '1 hour', lease_token = 'test' WHERE id = ${hook.id}`);
    const names = Array.from({ length: 30 }, (_, i) => `Backlog ${i}`);
    for (const name of names) expect((await rename(event.id, name)).statusCode).toBe(200);
    expect(at(hook.path)).toHaveLength(0);
    await db.execute(sql`UPDATE webhook_endpoints SET lease_until = NULL, lease_token = NULL WHERE id = ${hook.id}`);
    const received = await waitAt(hook.path, names.length);
    expect(received.map((r) => r.json.data.event_name)).toEqual(names);
    expect(new Set(received.map((r) => r.remotePort)).size).toBe(1);
    const listed = await t.app.inject({ method: 'GET', url: `/webhooks/${hook.id}/deliveries?limit=100`, headers: organizer.auth });
    expect(listed.statusCode).toBe(200);
    const deliveries = listed.json<{ status: string; attempts: number }[]>();
    expect(deliveries.filter((d) => d.status === 'succeeded' && d.attempts === 1)).toHaveLength(names.length);
  });

  it('when the receiver hangs, then the API still answers: bookings and edits complete while the delivery waits', { timeout: 30_000 }, async () => {
    const event = await createEvent(t.app, organizer, { total_tickets: 50 });
    const hook = await subscribe(organizer, ['event.updated'], event.id);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    receiver.respondWith(async (request, response) => {
      if (request.url === hook.path) await released;
      response.writeHead(200).end();
    });
    try {
      await rename(event.id, 'Slow receiver');
      await waitAt(hook.path, 1);
      let settled = false;
      void released.then(() => (settled = true));
      // The receiver holds the delivery; the API goes on.
      const bookings = await Promise.all(Array.from({ length: 20 }, () => t.app.inject({ method: 'POST', url: '/book', headers: buyer.auth, payload: { event_id: event.id } })));
      expect(bookings.map((b) => b.statusCode)).toEqual(Array(20).fill(200));
      expect((await rename(event.id, 'Still editable')).statusCode).toBe(200);
      expect(settled).toBe(false);
      // The worker gives up on the hung attempt at its timeout (1.5 s here) and retries later.
      const list = await receiver.waitFor(() => false, 2500).catch(() => null);
      expect(list).toBeNull();
      const deliveries = await t.app.inject({ method: 'GET', url: `/webhooks/${hook.id}/deliveries?limit=100`, headers: organizer.auth });
      const first = deliveries.json<{ status: string; last_error: string | null; attempts: number }[]>().at(-1)!;
      expect(first).toMatchObject({ status: 'pending', attempts: 1 });
      expect(first.last_error).toMatch(/timeout/);
    } finally {
      release();
      receiver.respondWith((_request, response) => void response.writeHead(200).end('ok'));
    }
  });

  it('when the receiver redirects, then the redirect is not followed and the attempt failed', async () => {
    const event = await createEvent(t.app, organizer);
    const hook = await subscribe(organizer, ['event.updated'], event.id);
    receiver.respondWith((request, response) => {
      if (request.url === hook.path) return void response.writeHead(302, { location: `${receiver.url}/elsewhere` }).end();
      response.writeHead(200).end();
    });
    try {
      await rename(event.id, 'Redirected');
      await waitAt(hook.path, 1);
      const deliveries = await pollDeliveries(hook.id, (d) => d.attempts >= 1);
      expect(deliveries[0]).toMatchObject({ status: 'pending', last_status_code: 302, last_error: 'HTTP 302: redirects are not followed' });
      expect(at('/elsewhere')).toEqual([]);
    } finally {
      receiver.respondWith((_request, response) => void response.writeHead(200).end('ok'));
    }
  });

  it('when the receiver answers an endless body, then at most 64 KiB is read and the delivery succeeds', async () => {
    const event = await createEvent(t.app, organizer);
    const hook = await subscribe(organizer, ['event.updated'], event.id);
    let written = 0;
    receiver.respondWith((request, response) => {
      if (request.url !== hook.path) return void response.writeHead(200).end();
      response.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const pump = () => {
        while (!response.destroyed && response.write(chunk)) written += chunk.length;
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
    });
    try {
      await rename(event.id, 'Endless');
      const deliveries = await pollDeliveries(hook.id, (d) => d.status === 'succeeded');
      expect(deliveries[0]!.status).toBe('succeeded');
      expect(written).toBeLessThan(10 * 1024 * 1024);
    } finally {
      receiver.respondWith((_request, response) => void response.writeHead(200).end('ok'));
    }
  });

  it('when the secret is rotated, then deliveries carry two signatures and verify with the new secret and the old', async () => {
    const event = await createEvent(t.app, organizer);
    const hook = await subscribe(organizer, ['event.updated'], event.id);
    const rotated = await t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/rotate-secret`, headers: organizer.auth });
    expect(rotated.statusCode).toBe(200);
    const newSecret = rotated.json<{ secret: string }>().secret;
    expect(newSecret).not.toBe(hook.secret);
    await rename(event.id, 'Rotated');
    const [delivery] = await waitAt(hook.path, 1);
    expect(delivery!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    verifyDelivery(newSecret, delivery!);
    verifyDelivery(hook.secret, delivery!);
  });

  it('when GET /metrics is scraped, then it shows deliveries by outcome, the queue depth and the oldest pending age', async () => {
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/bookfast_webhook_deliveries_total\{outcome="succeeded"\} [1-9]/);
    expect(metrics).toMatch(/bookfast_webhook_deliveries_total\{outcome="retrying"\} [1-9]/);
    expect(metrics).toMatch(/^bookfast_webhook_queue_depth \d+$/m);
    expect(metrics).toMatch(/^bookfast_webhook_oldest_pending_seconds [\d.e+-]+$/m);
  });
});

interface DeliveryBody {
  id: number;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
}

async function pollDeliveries(endpointId: number, until: (newest: DeliveryBody) => boolean): Promise<DeliveryBody[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const response = await t.app.inject({ method: 'GET', url: `/webhooks/${endpointId}/deliveries`, headers: admin.auth });
    const list = response.json<DeliveryBody[]>();
    if (list[0] && until(list[0])) return list;
    if (Date.now() > deadline) throw new Error(`deliveries never matched: ${response.body}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
