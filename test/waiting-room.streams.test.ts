import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import type { Database, Db } from '../src/db/client.js';
import { testConfig } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { openQueueStream, sessionOf, streamToken } from './helpers/queue-stream.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { inSeconds, join, manyUsers, putRoom, roomSettings } from './helpers/waiting-room.js';

// Issue 25 item 1: queue streams are capped like /live, end with their token or their login, and cost one
// read per room per tick whatever their number. The app's request database counts the statements it runs.
let app: FastifyInstance;
let testDb: TestDatabase;
let baseUrl: string;
let owner: TestUser;
let statements = 0;

/** The same database, whose request connection counts every statement sent through it. */
function countingStatements(database: Database): Database {
  const db = new Proxy(database.db, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property !== 'execute' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        statements++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Db;
  return Object.create(database, { db: { value: db } }) as Database;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  const config = testConfig({ WAITING_ROOM_TICK_MS: '50', LIVE_MAX_STREAMS_PER_IP: '40', LIVE_MAX_STREAMS: '41', TRUST_PROXY: '127.0.0.1' });
  app = await buildApp({ config, database: countingStatements(testDb.database), logger: false });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  owner = await registerAndLogin(app);
});
afterAll(async () => {
  await app.close();
  await testDb.drop();
});

/** An event whose room opens its sale in an hour: nobody's place changes meanwhile. */
async function roomBeforeSale(): Promise<number> {
  const event = await createEvent(app, owner);
  await putRoom(app, owner, event.id, roomSettings({ onsale_at: inSeconds(3600) }));
  return event.id;
}

const ticks = async (count: number) => {
  let seen = 0;
  await new Promise<void>((resolve) => {
    const stop = app.waitingRoom.onTick(() => {
      if (++seen < count) return;
      stop();
      resolve();
    });
  });
};

describe('queue stream tokens', () => {
  it('when the event does not exist or has no room, then POST stream-token is 404', async () => {
    const buyer = await registerAndLogin(app);
    const missing = await app.inject({ method: 'POST', url: '/events/2000000000/queue/stream-token', headers: buyer.auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ detail: 'This event has no waiting room' });
    const roomless = await createEvent(app, owner);
    expect((await app.inject({ method: 'POST', url: `/events/${roomless.id}/queue/stream-token`, headers: buyer.auth })).statusCode).toBe(404);
  });

  it('when the buyer logs out, then the stream token no longer opens a stream and the open stream ends', async () => {
    const eventId = await roomBeforeSale();
    const buyer = await registerAndLogin(app);
    await join(app, buyer, eventId);
    const token = await streamToken(app, buyer, eventId);
    const stream = await openQueueStream(baseUrl, eventId, token);
    expect(stream.status).toBe(200);
    expect(await stream.next()).toMatchObject({ status: 'waiting' });

    expect((await app.inject({ method: 'POST', url: '/logout', headers: buyer.auth })).statusCode).toBe(204);

    await stream.ended();
    const reopened = await openQueueStream(baseUrl, eventId, token);
    expect(reopened.status).toBe(401);
  });

  it('when the stream token expires, then its open stream ends', async () => {
    const eventId = await roomBeforeSale();
    const buyer = await registerAndLogin(app);
    await join(app, buyer, eventId);
    const token = app.waitingRoom.passes.signStreamToken(eventId, sessionOf(buyer), 1);
    const stream = await openQueueStream(baseUrl, eventId, token);
    expect(stream.status).toBe(200);
    const outcome = await Promise.race([stream.ended().then(() => 'ended'), sleep(10_000).then(() => 'still open')]);
    stream.close();
    expect(outcome).toBe('ended');
  });
});

describe('queue streams under a crowd', () => {
  it('when one address opens more streams than LIVE_MAX_STREAMS_PER_IP, then the extra ones get 429, past LIVE_MAX_STREAMS 503', async () => {
    const eventId = await roomBeforeSale();
    const [buyer] = await manyUsers(app, testDb.database, 1);
    await join(app, buyer!, eventId);
    const token = await streamToken(app, buyer!, eventId);
    const fromOne = await Promise.all(Array.from({ length: 41 }, () => openQueueStream(baseUrl, eventId, token, { 'x-forwarded-for': '203.0.113.1' })));
    try {
      const statuses = fromOne.map((stream) => stream.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(40);
      expect(statuses.filter((status) => status === 429)).toHaveLength(1);
      expect((await openQueueStream(baseUrl, eventId, token, { 'x-forwarded-for': '203.0.113.2' })).status).toBe(200);
      expect((await openQueueStream(baseUrl, eventId, token, { 'x-forwarded-for': '203.0.113.3' })).status).toBe(503);
    } finally {
      for (const stream of fromOne) stream.close();
    }
  });

  it('when 30 buyers of one room hold streams open, then a tick costs one read for all of them, not one each', async () => {
    const eventId = await roomBeforeSale();
    const buyers = await manyUsers(app, testDb.database, 30);
    for (const buyer of buyers) await join(app, buyer, eventId);
    // Closed ones from the test before must be gone: this one may open 30.
    await sleep(200);
    const streams = await Promise.all(buyers.map(async (buyer, i) => openQueueStream(baseUrl, eventId, await streamToken(app, buyer, eventId), { 'x-forwarded-for': `198.51.100.${i + 1}` })));
    try {
      expect(streams.map((stream) => stream.status)).toEqual(buyers.map(() => 200));
      await ticks(2);
      const before = statements;
      await ticks(20);
      // Besides the streams' one read a tick: the room list, presence marks, the token-version feed.
      expect((statements - before) / 20).toBeLessThan(8);
    } finally {
      for (const stream of streams) stream.close();
    }
  });
});
