import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app.js';
import { openDatabase } from '../src/db/client.js';
import { buildTestApp, setUpTestApp, testConfig, type TestApp } from './helpers/build-test-app.js';
import { bookOverHttp, createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { openLive, type Seats } from './helpers/live.js';
import type { ServerProcess } from './helpers/server-process.js';
import { setUpServerProcesses } from './helpers/server-processes.js';

async function buyers(app: FastifyInstance, count: number): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: count }, () => registerAndLogin(app)));
}

/** Every snapshot adds up, and seats only ever go down while nobody cancels. */
function expectFalling(seen: Seats[], total: number): void {
  for (const seats of seen) expect(seats.tickets_available + seats.tickets_sold).toBe(total);
  const available = seen.map((seats) => seats.tickets_available);
  expect([...available].sort((a, b) => b - a)).toEqual(available);
}

describe('GET /events/{id}/live', () => {
  const { t, owner, crowd } = setUpTestApp({ users: ['owner'], crowd: 20 });

  it('when a client connects, then it gets a text/event-stream with the current seats at once', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 7 });
    await bookOverHttp(t.baseUrl, crowd[0]!.token, event.id);
    const live = await openLive(t.baseUrl, event.id);
    expect(live.response.status).toBe(200);
    expect(live.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(live.response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(await live.next()).toEqual({ tickets_available: 6, tickets_sold: 1, total_tickets: 7 });
    live.close();
  });

  it('when a burst of bookings sells the event out, then the client sees the count fall, coalesced, to 0', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 60 });
    const live = await openLive(t.baseUrl, event.id);
    expect(await live.next()).toEqual({ tickets_available: 60, tickets_sold: 0, total_tickets: 60 });

    const watching = live.untilSoldOut();
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => bookOverHttp(t.baseUrl, crowd[i % crowd.length]!.token, event.id)));
    const seen = await watching;

    expect(results.filter((result) => result.status === 200)).toHaveLength(60);
    expect(seen.at(-1)).toEqual({ tickets_available: 0, tickets_sold: 60, total_tickets: 60 });
    expectFalling(seen, 60);
    // Coalesced: far fewer messages than the 60 seat changes, and no message repeats the one before.
    expect(seen.length).toBeLessThan(60);
    expect(new Set(seen.map((seats) => seats.tickets_available)).size).toBe(seen.length);

    // A cancellation puts a seat back, and the client hears of it.
    const ticket = results.find((result) => result.status === 200)!;
    const holder = crowd.find((user) => user.id === ticket.body.user_id)!;
    await t.app.inject({ method: 'POST', url: `/tickets/${String(ticket.body.id)}/cancel`, headers: holder.auth });
    expect(await live.next()).toEqual({ tickets_available: 1, tickets_sold: 59, total_tickets: 60 });
    // So does a capacity change by the owner.
    await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: owner.auth, payload: { total_tickets: 70 } });
    expect(await live.next()).toEqual({ tickets_available: 11, tickets_sold: 59, total_tickets: 70 });
    live.close();
  });

  it('when clients disconnect, then nothing is left behind: no watcher, no feed, no channel', async () => {
    const [one, two] = [await createEvent(t.app, owner), await createEvent(t.app, owner)];
    const clients = [await openLive(t.baseUrl, one.id), await openLive(t.baseUrl, one.id), await openLive(t.baseUrl, two.id)];
    for (const client of clients) await client.next();
    expect(t.app.liveSeats.counts()).toEqual({ events: 2, watchers: 3, channels: 2 });

    clients[0]!.close();
    await vi.waitFor(() => expect(t.app.liveSeats.counts()).toEqual({ events: 2, watchers: 2, channels: 2 }));
    clients[1]!.close();
    clients[2]!.close();
    await vi.waitFor(() => expect(t.app.liveSeats.counts()).toEqual({ events: 0, watchers: 0, channels: 0 }));

    // And a client coming back afterwards is served as before.
    const again = await openLive(t.baseUrl, one.id);
    expect((await again.next()).total_tickets).toBe(100);
    again.close();
    await vi.waitFor(() => expect(t.app.liveSeats.counts()).toEqual({ events: 0, watchers: 0, channels: 0 }));
  });

  it('when the event is deleted, then its streams end and leave nothing behind', async () => {
    const event = await createEvent(t.app, owner);
    const live = await openLive(t.baseUrl, event.id);
    await live.next();
    expect((await t.app.inject({ method: 'DELETE', url: `/events/${event.id}`, headers: owner.auth })).statusCode).toBe(204);
    await expect(live.next()).rejects.toThrow('stream ended');
    await vi.waitFor(() => expect(t.app.liveSeats.counts().watchers).toBe(0));
  });

  it('when the event does not exist, then a plain 404 comes before any stream; a bad id is 422', async () => {
    const missing = await fetch(`${t.baseUrl}/events/999999/live`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ detail: 'Event not found' });
    expect((await fetch(`${t.baseUrl}/events/abc/live`)).status).toBe(422);
    expect(t.app.liveSeats.counts().events).toBe(0);
  });

  it('then the route is in the OpenAPI document as an event stream', async () => {
    const doc = (await t.app.inject({ url: '/docs/json' })).json<{ paths: Record<string, Record<string, { tags: string[]; responses: Record<string, unknown> }>> }>();
    const live = doc.paths['/events/{id}/live']!.get!;
    expect(live.tags).toEqual(['live']);
    expect(JSON.stringify(live.responses['200'])).toContain('text/event-stream');
    expect(Object.keys(live.responses)).toEqual(expect.arrayContaining(['200', '404', '422']));
  });
});

// Two apps on one database stand for two server processes: each has its own bus connection, so a change
// made through one reaches the other only through PostgreSQL or Redis.
async function redisReachable(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const buses: { name: string; overrides: Record<string, string>; enabled: boolean }[] = [
  { name: 'PostgreSQL LISTEN/NOTIFY', overrides: {}, enabled: Boolean(process.env.DATABASE_URL) },
  { name: 'Redis pub/sub', overrides: { REDIS_URL }, enabled: await redisReachable(REDIS_URL) },
];

describe.each(buses)('when seats change in another process, over $name', ({ overrides, enabled }) => {
  let watched: TestApp;
  let other: FastifyInstance;
  let otherUrl: string;
  let closeOtherDatabase: () => Promise<void>;

  beforeAll(async () => {
    if (!enabled) return;
    watched = await buildTestApp(overrides);
    // The embedded database belongs to one process: the second app shares it; on a server it has its own pool.
    const database = watched.testDb.url ? await openDatabase({ databaseUrl: watched.testDb.url, poolSize: 4 }) : watched.testDb.database;
    closeOtherDatabase = () => (database === watched.testDb.database ? Promise.resolve() : database.close());
    other = await buildApp({ config: testConfig({ ...overrides, SECRET_KEY: watched.config.secretKey }), database, logger: false });
    otherUrl = await other.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    if (!enabled) return;
    await other.close();
    await closeOtherDatabase();
    await watched.close();
  });

  it.skipIf(!enabled)('then a client of this process sees bookings made through the other one, down to 0', async () => {
    const owner = await registerAndLogin(watched.app);
    const crowd = await buyers(watched.app, 10);
    const event = await createEvent(watched.app, owner, { total_tickets: 25 });
    const live = await openLive(watched.baseUrl, event.id);
    expect((await live.next()).tickets_available).toBe(25);

    const watching = live.untilSoldOut();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => bookOverHttp(otherUrl, crowd[i % crowd.length]!.token, event.id)));
    const seen = await watching;
    expect(results.filter((result) => result.status === 200)).toHaveLength(25);
    expect(seen.at(-1)).toEqual({ tickets_available: 0, tickets_sold: 25, total_tickets: 25 });
    expectFalling(seen, 25);
    live.close();
    await vi.waitFor(() => expect(watched.app.liveSeats.counts()).toEqual({ events: 0, watchers: 0, channels: 0 }));
  });
});

// The real thing: two server processes (node src/server.ts) sharing only PostgreSQL.
describe.skipIf(!process.env.DATABASE_URL)('when a client watches one server process and buyers use another', () => {
  const { servers } = setUpServerProcesses([{}, {}], { expectCleanExit: true });

  it('then the client sees the seats fall to 0, and the watched server still stops cleanly with the stream open', async () => {
    const [watchedServer, sellingServer] = servers as [ServerProcess, ServerProcess];
    const tokens: string[] = [];
    for (let i = 0; i < 10; i++) {
      const email = `live-${i}-${randomBytes(3).toString('hex')}@example.com`;
      const credentials = JSON.stringify({ email, password: 'correct horse battery' });
      await fetch(`${sellingServer.baseUrl}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: credentials });
      const login = await fetch(`${sellingServer.baseUrl}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: email, password: 'correct horse battery' }),
      });
      tokens.push(((await login.json()) as { access_token: string }).access_token);
    }
    const created = await fetch(`${sellingServer.baseUrl}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[0]!}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event_name: 'Live', date: '2031-01-01T00:00:00Z', ticket_price: '10.00', total_tickets: 30 }),
    });
    const eventId = ((await created.json()) as { id: number }).id;

    const live = await openLive(watchedServer.baseUrl, eventId);
    expect((await live.next()).tickets_available).toBe(30);
    const watching = live.untilSoldOut();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => bookOverHttp(sellingServer.baseUrl, tokens[i % tokens.length]!, eventId)));
    const seen = await watching;
    expect(results.filter((result) => result.status === 200)).toHaveLength(30);
    expect(seen.at(-1)).toEqual({ tickets_available: 0, tickets_sold: 30, total_tickets: 30 });
    expectFalling(seen, 30);
    // Left open on purpose: afterAll checks that SIGTERM still ends the process with 0.
  });
});
