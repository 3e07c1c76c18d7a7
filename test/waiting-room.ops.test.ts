import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { drizzle } from 'drizzle-orm/node-postgres';
import { openDatabase, type Database, type Db } from '../src/db/client.js';
import { Registry } from 'prom-client';
import { admissionTick } from '../src/waiting-room/admission.js';
import type { RoomRow } from '../src/waiting-room/repository.js';
import { WaitingRoomRuntime } from '../src/waiting-room/runtime.js';
import { testConfig } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { pgBouncerMissing, startPgBouncer } from './helpers/pgbouncer.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { busiestSecond, inSeconds, join, manyUsers, poll, pollUntilDone, putRoom, roomSettings, type QueueEntry } from './helpers/waiting-room.js';

// The room as operators and other processes see it: one leader across processes, the SSE channel, metrics,
// and a log line for every operator change. The app's JSON log lines land in `lines`.
let app: FastifyInstance;
let testDb: TestDatabase;
let baseUrl: string;
let owner: TestUser;
const lines: string[] = [];
const config = testConfig({ WAITING_ROOM_TICK_MS: '50' });

beforeAll(async () => {
  testDb = await createTestDatabase();
  app = await buildApp({ config, database: testDb.database, logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } } });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  owner = await registerAndLogin(app);
});
afterAll(async () => {
  await app.close();
  await testDb.drop();
});

const patch = (eventId: number, payload: object) => app.inject({ method: 'PATCH', url: `/events/${eventId}/waiting-room`, headers: owner.auth, payload });

describe.skipIf(!process.env.DATABASE_URL)('waiting room: one admission leader (PostgreSQL)', () => {
  it('when another session holds the leader lock, then this process admits nobody until it lets go', async () => {
    const event = await createEvent(app, owner);
    const [buyer] = await manyUsers(app, testDb.database, 1);
    await putRoom(app, owner, event.id, roomSettings());
    const other = new pg.Client({ connectionString: testDb.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(7201915)');
      await join(app, buyer!, event.id);
      expect(await admissionTick(testDb.database.db, 0.05)).toBeNull();
      await sleep(500);
      expect((await poll(app, buyer!, event.id)).status).toBe('waiting');
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    expect((await pollUntilDone(app, buyer!, event.id)).status).toBe('admitted');
  });

  it('when a second app process shares the database and ticks too, then admissions still keep to the per-second cap', async () => {
    const second: Database = await openDatabase({ databaseUrl: testDb.url, poolSize: 4 });
    const other = await buildApp({ config, database: second, logger: false });
    try {
      const event = await createEvent(app, owner, { total_tickets: 500 });
      const users = await manyUsers(app, testDb.database, 24);
      await putRoom(app, owner, event.id, roomSettings({ onsale_at: inSeconds(3600), admit_per_minute: 240 }));
      for (const user of users) await join(app, user, event.id);
      await putRoom(app, owner, event.id, roomSettings({ admit_per_minute: 240 }));
      // Both processes poll for half of the buyers each: both see them present, both tick every 50 ms.
      const entries = await Promise.all(users.map((user, i) => pollUntilDone(i % 2 === 0 ? app : other, user, event.id, 30_000)));
      expect(entries.every((entry: QueueEntry) => entry.status === 'admitted')).toBe(true);
      expect(await busiestSecond(testDb.database.db, event.id)).toBeLessThanOrEqual(240 / 60 + 1);
    } finally {
      await other.close();
      await second.close();
    }
  });
});

describe.skipIf(pgBouncerMissing())('waiting room: the leader through PgBouncer in transaction mode', () => {
  it('when another client holds the leader lock through the bouncer, then a tick through it is not the leader; after its COMMIT, it is', async () => {
    const bouncer = await startPgBouncer(testDb.url!);
    const viaBouncer = bouncer.pooled(testDb.url!);
    const holder = new pg.Client({ connectionString: viaBouncer });
    // A plain pool (no startup parameters, which PgBouncer refuses), as the app's own is behind a pooler.
    const pool = new pg.Pool({ connectionString: viaBouncer, max: 2 });
    try {
      await holder.connect();
      const bounced = drizzle(pool) as unknown as Db;
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(7201915)');
      expect(await admissionTick(bounced, 0.05)).toBeNull();
      await holder.query('COMMIT');
      // Transaction-scoped: the COMMIT released it, whichever server connection the bouncer gives next.
      let tick = await admissionTick(bounced, 0.05);
      // This app's own ticker may hold it at this very moment: wait for a tick of ours to lead.
      for (let tries = 0; tick === null && tries < 100; tries++) tick = await admissionTick(bounced, 0.05);
      expect(tick).not.toBeNull();
    } finally {
      await holder.end().catch(() => undefined);
      await pool.end();
      await bouncer.stop();
    }
  });
});

describe('waiting room: push channel, metrics and operator logs', () => {
  it('when the stream token is valid, then the stream sends my place and then my admission; a bad token is 401', async () => {
    const event = await createEvent(app, owner);
    const buyer = await registerAndLogin(app);
    await putRoom(app, owner, event.id, roomSettings({ onsale_at: inSeconds(3600) }));
    await join(app, buyer, event.id);
    const { token } = (await app.inject({ method: 'POST', url: `/events/${event.id}/queue/stream-token`, headers: buyer.auth })).json<{ token: string }>();
    expect((await fetch(`${baseUrl}/events/${event.id}/queue/stream?token=${token}x`)).status).toBe(401);
    expect((await fetch(`${baseUrl}/events/${event.id + 1}/queue/stream?token=${token}`)).status).toBe(401);

    const controller = new AbortController();
    const response = await fetch(`${baseUrl}/events/${event.id}/queue/stream?token=${token}`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const next = async (): Promise<QueueEntry> => {
      for (;;) {
        const match = /data: (.*)\n\n/.exec(buffer);
        if (match) {
          buffer = buffer.slice(match.index + match[0].length);
          return JSON.parse(match[1]!) as QueueEntry;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += decoder.decode(value, { stream: true });
      }
    };
    try {
      expect(await next()).toMatchObject({ status: 'waiting', position: null });
      await putRoom(app, owner, event.id, roomSettings());
      let entry = await next();
      while (entry.status === 'waiting') entry = await next();
      expect(entry).toMatchObject({ status: 'admitted', position: 1 });
      expect(entry.pass).toMatch(/^qp1\./);
    } finally {
      controller.abort();
    }
  });

  it('when people are admitted, then /metrics shows the room’s counts and admissions; every operator change is logged with who and what', async () => {
    const event = await createEvent(app, owner);
    const buyer = await registerAndLogin(app);
    lines.length = 0;
    await putRoom(app, owner, event.id, roomSettings({ admit_per_minute: 600 }));
    await join(app, buyer, event.id);
    await pollUntilDone(app, buyer, event.id);
    expect((await patch(event.id, { state: 'paused', admit_per_minute: 30 })).statusCode).toBe(200);
    await sleep(200);
    const metrics = (await app.inject({ url: '/metrics' })).body;
    const label = `{event_id="${event.id}"}`;
    expect(metrics).toContain(`bookfast_waiting_room_admissions_total${label} 1`);
    expect(metrics).toContain(`bookfast_waiting_room_active${label} 1`);
    expect(metrics).toContain(`bookfast_waiting_room_waiting${label} 0`);
    expect(metrics).toContain(`bookfast_waiting_room_admit_per_minute${label} 30`);
    expect(metrics).toMatch(/bookfast_waiting_room_wait_seconds_count \d+/);

    expect((await app.inject({ method: 'DELETE', url: `/events/${event.id}/waiting-room`, headers: owner.auth })).statusCode).toBe(204);
    const changes = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => String(line.msg).startsWith('waiting room: ') && line.event_id === event.id);
    expect(changes.map((line) => [line.msg, line.by_user_id])).toEqual([
      ['waiting room: configured', owner.id],
      ['waiting room: changed', owner.id],
      ['waiting room: deleted; the event sells without it', owner.id],
    ]);
    expect(changes[1]!.change).toEqual({ state: 'paused', admit_per_minute: 30 });
  });
});

describe('waiting room: the in-memory list and the tick under a polling crowd', () => {
  // A runtime of its own that never ticks by itself: each step below is taken by the test, in its order.
  const runtime = () => new WaitingRoomRuntime(testDb.database.db, { tickMs: 60_000, secretKey: 'k'.repeat(32), log: app.log, registry: new Registry() });

  it('when this process changes a room while a refresh is reading the rooms, then that refresh keeps the change; the next one reads the database', async () => {
    const event = await createEvent(app, owner);
    const rooms = runtime();
    // A room the database does not have: what the read in flight cannot have seen.
    const room: RoomRow = {
      event_id: event.id, state: 'open', prequeue_opens_at: new Date(), onsale_at: new Date(), admit_per_minute: 60, max_active: 10,
      pass_minutes: 10, grace_seconds: 30, served_up_to: 0, last_position: 0, waiting: 0, active: 0, admitted_total: 0, abandoned_total: 0,
    };
    const reading = rooms.refresh();
    rooms.roomChanged(event.id, room);
    await reading;
    expect(rooms.room(event.id)).toEqual(room);
    await rooms.refresh();
    expect(rooms.room(event.id)).toBeUndefined();
    await rooms.stop();
  });

  it('when presence marks keep coming while a tick writes them, then the tick still ends (later marks wait for the next tick)', async () => {
    const event = await createEvent(app, owner);
    await putRoom(app, owner, event.id, roomSettings());
    const rooms = runtime();
    await rooms.refresh();
    let polling = true;
    let userId = 1_000_000;
    const crowd = (async () => {
      while (polling) {
        rooms.seen(event.id, userId++);
        await new Promise(setImmediate);
      }
    })();
    const outcome = await Promise.race([rooms.tick().then(() => 'ended'), sleep(30_000).then(() => 'still writing marks')]);
    polling = false;
    await crowd;
    expect(outcome).toBe('ended');
    await rooms.stop();
  });
});
