import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setRoleByEmail } from '../src/auth/roles.js';
import { queryRows } from '../src/db/client.js';
import { resourceKeyOf } from '../src/webhooks/partitions.js';
import { IN_FLIGHT_PER_ENDPOINT } from '../src/webhooks/worker.js';
import { buildTestApp, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { serverProcessEnv, startServerProcess, type ServerProcess } from './helpers/server-process.js';
import { startWebhookReceiver, verifyDelivery, type WebhookReceiver } from './helpers/webhook-receiver.js';

// The outbox across a crash: real server processes on a real PostgreSQL (the embedded database belongs to
// one process), a real receiver. The database is the judge: exactly the committed check-ins, edits and
// bookings (POST /book's batches, with the sell-out) arrive, each under one webhook id; nothing arrives for a
// change that did not commit.
describe.skipIf(!process.env.DATABASE_URL)('when a server is killed (SIGKILL) during a burst and another takes over', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let organizer: TestUser;
  const servers: ServerProcess[] = [];
  beforeAll(async () => {
    // This process's app only sets data up; the server processes deliver.
    t = await buildTestApp({ WEBHOOKS_WORKER: 'off', WEBHOOKS_ALLOW_PRIVATE: 'true' });
    receiver = await startWebhookReceiver();
    organizer = await registerAndLogin(t.app);
    await setRoleByEmail(t.testDb.database.db, organizer.email, 'organizer');
  });
  afterAll(async () => {
    for (const server of servers) if (server.child.exitCode === null) server.child.kill('SIGKILL');
    await receiver.close();
    await t.close();
  });

  it('then every committed change is delivered, under one id each, in order per resource, at most 16 at a time, and none that rolled back', { timeout: 300_000 }, async () => {
    const db = t.testDb.database.db;
    const buyer = await registerAndLogin(t.app);
    const concert = await createEvent(t.app, organizer, { total_tickets: 200 });
    const codes: string[] = [];
    for (let i = 0; i < 120; i++) {
      const booked = await t.app.inject({ method: 'POST', url: '/book', headers: buyer.auth, payload: { event_id: concert.id } });
      codes.push(booked.json<{ code: string }>().code);
    }
    const events = await Promise.all(Array.from({ length: 40 }, () => createEvent(t.app, organizer)));
    // Sold in batches during the burst: more buyers than seats, so the sell-out is one of the changes.
    const sale = await createEvent(t.app, organizer, { total_tickets: 60 });
    const saleBuyers = await Promise.all(Array.from({ length: 8 }, () => registerAndLogin(t.app)));
    const created = await t.app.inject({
      method: 'POST',
      url: '/webhooks',
      headers: organizer.auth,
      payload: { url: `${receiver.url}/crash`, events: ['ticket.checked_in', 'event.updated', 'ticket.booked', 'event.sold_out'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { secret } = created.json<{ secret: string }>();

    // The receiver answers nothing until the first server is dead, so the crash leaves committed webhooks
    // undelivered (one of them mid-attempt); then it answers at once. It counts deliveries in flight.
    let inFlight = 0;
    let maxInFlight = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    receiver.respondWith(async (_request, response) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await gate;
      inFlight--;
      response.writeHead(200).end();
    });
    const env = {
      ...serverProcessEnv(t.testDb.url!, { SECRET_KEY: t.config.secretKey }),
      WEBHOOKS_ALLOW_PRIVATE: 'true',
      WEBHOOKS_POLL_MS: '50',
      WEBHOOKS_TIMEOUT_MS: '2000',
    };
    const first = await startServerProcess(env);
    servers.push(first);

    let answered = 0;
    let markHalfway!: () => void;
    const halfway = new Promise<void>((resolve) => (markHalfway = resolve));
    const call = (path: string, method: string, body: unknown, user = organizer) =>
      fetch(`${first.baseUrl}${path}`, { method, headers: { ...user.auth, 'content-type': 'application/json' }, body: JSON.stringify(body) })
        .then((r) => r.status)
        .catch(() => 0)
        .finally(() => ++answered === 60 && markHalfway());
    // Interleaved, so that the kill cuts into each kind of change (bookings in batches among them).
    const kinds = [
      codes.map((code) => () => call(`/events/${concert.id}/check-in`, 'POST', { code })),
      events.map((event) => () => call(`/events/${event.id}`, 'PATCH', { event_name: `Renamed ${event.id}` })),
      Array.from({ length: 80 }, (_, i) => () => call('/book', 'POST', { event_id: sale.id }, saleBuyers[i % saleBuyers.length])),
    ];
    const burst = Array.from({ length: Math.max(...kinds.map((k) => k.length)) }, (_, i) => kinds.flatMap((k) => (k[i] ? [k[i]()] : []))).flat();
    await halfway;
    first.child.kill('SIGKILL');
    const statuses = await Promise.all(burst);
    await new Promise((resolve) => first.child.exitCode !== null || first.child.signalCode !== null ? resolve(null) : first.child.once('exit', resolve));
    openGate();
    // 400: sold out (the old service's answer), for the bookings past the 60 seats.
    expect(statuses.every((s) => s === 0 || s === 200 || s === 400), JSON.stringify(statuses)).toBe(true);

    // What committed, according to the database (not the answers: a change may commit unanswered).
    const checkedIn = await queryRows<{ id: number }>(db, sql`SELECT id FROM tickets WHERE event_id = ${concert.id} AND checked_in_at IS NOT NULL`);
    const renamed = await queryRows<{ id: number }>(db, sql`SELECT id FROM events WHERE owner_id = ${organizer.id} AND event_name LIKE 'Renamed %'`);
    const sold = await queryRows<{ id: number }>(db, sql`SELECT id FROM tickets WHERE event_id = ${sale.id}`);
    const soldOut = sold.length === 60 ? 1 : 0;
    const undelivered = await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM webhook_outbox WHERE status = 'pending'`);
    expect(checkedIn.length + renamed.length).toBeGreaterThan(0);
    expect(sold.length).toBeGreaterThan(0);
    // The crash left committed webhooks undelivered: the case the outbox is for.
    expect(undelivered[0]!.n).toBeGreaterThan(0);

    // Two servers now, both delivering, so the one-at-a-time lease is shared across processes.
    servers.push(await startServerProcess(env), await startServerProcess(env));
    const expected = checkedIn.length + renamed.length + sold.length + soldOut;
    const distinct = () => new Set(receiver.received.map((r) => r.id));
    await receiver.waitFor(() => distinct().size >= expected, 120_000);
    // Nothing more comes: wait until the outbox is drained.
    for (let i = 0; i < 200; i++) {
      const left = await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM webhook_outbox WHERE status = 'pending'`);
      if (left[0]!.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const byId = new Map(receiver.received.map((r) => [r.id, r]));
    expect(byId.size).toBe(expected);
    const tickets = [...byId.values()].filter((r) => r.json.type === 'ticket.checked_in').map((r) => r.json.data.id as number);
    const edited = [...byId.values()].filter((r) => r.json.type === 'event.updated').map((r) => r.json.data.id as number);
    expect(tickets.sort((a, b) => a - b)).toEqual(checkedIn.map((r) => r.id).sort((a, b) => a - b));
    expect(edited.sort((a, b) => a - b)).toEqual(renamed.map((r) => r.id).sort((a, b) => a - b));
    const booked = [...byId.values()].filter((r) => r.json.type === 'ticket.booked').map((r) => r.json.data.id as number);
    expect(booked.sort((a, b) => a - b)).toEqual(sold.map((r) => r.id).sort((a, b) => a - b));
    expect([...byId.values()].filter((r) => r.json.type === 'event.sold_out').map((r) => r.json.data.id)).toEqual(soldOut ? [sale.id] : []);
    for (const delivery of receiver.received) verifyDelivery(secret, delivery);
    // In outbox order per resource: each id first arrives after every smaller one about the same resource.
    const firstArrivals = new Map<string, number[]>();
    for (const [id, delivery] of byId) {
      const key = resourceKeyOf(delivery.json);
      firstArrivals.set(key, [...(firstArrivals.get(key) ?? []), Number(id.slice('msg_'.length))]);
    }
    for (const [key, ids] of firstArrivals) expect(ids, key).toEqual([...ids].sort((a, b) => a - b));
    // One lease per endpoint across the processes: never more than one lease's requests in flight.
    expect(maxInFlight).toBeLessThanOrEqual(IN_FLIGHT_PER_ENDPOINT);

    for (const server of servers.slice(1)) expect(await server.stop()).toBe(0);
    console.info(
      `webhook crash test: ${expected} committed changes delivered (${sold.length} tickets booked), ${receiver.received.length - expected} repeated after the kill; ` +
        `${statuses.filter((s) => s === 0).length} requests cut by the kill`,
    );
  });
});
