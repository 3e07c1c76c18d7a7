import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.js';
import { buildTestApp, closeCheckingInventory, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { busiestSecond, inSeconds, join, manyUsers, poll, putRoom, roomSettings, type RoomSettings } from './helpers/waiting-room.js';

// Pacing is checked on the database's own record (admitted_at of every admission), never on timings seen by
// the test: a slow machine may admit later, but never more per second than the setting allows.

let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await buildTestApp({ WAITING_ROOM_TICK_MS: '50' });
  owner = await registerAndLogin(t.app);
});
afterAll(() => closeCheckingInventory(t));

const db = () => t.testDb.database.db;
const count = async (query: ReturnType<typeof sql>) => (await queryRows<{ n: number }>(db(), query))[0]!.n;
const admittedCount = (eventId: number) => count(sql`SELECT count(*)::int AS n FROM queue_entries WHERE event_id = ${eventId} AND status = 'admitted'`);
const activeNow = (eventId: number) =>
  count(sql`SELECT count(*)::int AS n FROM queue_entries WHERE event_id = ${eventId} AND status = 'admitted' AND completed_at IS NULL AND pass_expires_at > now()`);

/** Present buyers: each polls every `everyMs`; once admitted, books with its pass after `buyAfterMs`. */
function crowdPolling(users: TestUser[], eventId: number, options: { everyMs: number; buyAfterMs: number | null }) {
  let stopped = false;
  const bought = new Set<number>();
  const loops = users.map(async (user, i) => {
    await sleep((i * options.everyMs) / users.length);
    while (!stopped) {
      const entry = await poll(t.app, user, eventId);
      if (entry.status === 'admitted' && options.buyAfterMs !== null && !bought.has(user.id)) {
        bought.add(user.id);
        await sleep(options.buyAfterMs);
        const booked = await t.app.inject({ method: 'POST', url: '/book', headers: { ...user.auth, 'queue-pass': entry.pass! }, payload: { event_id: eventId } });
        expect(booked.statusCode).toBe(200);
      }
      await sleep(options.everyMs);
    }
  });
  return {
    bought,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

async function openRoom(users: TestUser[], settings: Partial<RoomSettings>) {
  const event = await createEvent(t.app, owner, { total_tickets: 1000 });
  const base = roomSettings({ onsale_at: inSeconds(3600), ...settings });
  await putRoom(t.app, owner, event.id, base);
  for (const user of users) await join(t.app, user, event.id);
  return { eventId: event.id, start: () => putRoom(t.app, owner, event.id, { ...base, onsale_at: inSeconds(0) }) };
}

describe('waiting room: pacing', () => {
  it('when 36 present and 4 absent buyers wait at 300/min with max_active 8, then no second admits more than 6, active never passes 8, and the absent are skipped', async () => {
    const users = await manyUsers(t.app, t.testDb.database, 40);
    const [present, absent] = [users.slice(0, 36), users.slice(36)];
    const { eventId, start } = await openRoom(users, { admit_per_minute: 300, max_active: 8, grace_seconds: 5, pass_minutes: 1 });
    // The absent joined, then left a minute ago: when their turn comes they have not polled within grace.
    await db().execute(sql`UPDATE queue_entries SET last_seen_at = now() - interval '1 minute' WHERE event_id = ${eventId} AND user_id IN (${sql.join(absent.map((u) => sql`${u.id}`), sql`, `)})`);
    const crowd = crowdPolling(present, eventId, { everyMs: 500, buyAfterMs: 3000 });
    let mostActive = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        mostActive = Math.max(mostActive, await activeNow(eventId));
        await sleep(20);
      }
    })();
    await start();
    const deadline = Date.now() + 120_000;
    while (crowd.bought.size < present.length && Date.now() < deadline) await sleep(100);
    sampling = false;
    await sampler;
    await crowd.stop();

    expect(crowd.bought.size).toBe(36);
    // Buyers waited 3 s before buying (8 admissions take 1.6 s at this rate), so the cap was reached and held.
    expect(mostActive).toBe(8);
    expect(await busiestSecond(db(), eventId)).toBeLessThanOrEqual(Math.floor(300 / 60) + 1);
    const absentees = await queryRows<{ status: string; admitted_at: Date | null }>(
      db(),
      sql`SELECT status, admitted_at FROM queue_entries WHERE event_id = ${eventId} AND user_id IN (${sql.join(absent.map((u) => sql`${u.id}`), sql`, `)})`,
    );
    expect(absentees).toEqual(absent.map(() => ({ status: 'abandoned', admitted_at: null })));
    // The counters are the leader's, written at its next tick after the last purchase's slot was freed (a
    // busy host may take a while): wait for that tick, not a fixed time.
    const room = async () => (await t.app.inject({ method: 'GET', url: `/events/${eventId}/waiting-room` })).json<{ active: number }>();
    for (const settled = Date.now() + 20_000; (await room()).active !== 0 && Date.now() < settled; ) await sleep(50);
    expect(await room()).toMatchObject({ admitted_total: 36, abandoned_total: 4, waiting: 0, active: 0 });
    for (const user of absent) expect((await poll(t.app, user, eventId)).status).toBe('abandoned');
  });

  it('when the room is paused, then nobody more is admitted; when resumed at 60/min, then no second admits more than 2', async () => {
    const users = await manyUsers(t.app, t.testDb.database, 30);
    const { eventId, start } = await openRoom(users, { admit_per_minute: 600, max_active: 1000 });
    const crowd = crowdPolling(users, eventId, { everyMs: 800, buyAfterMs: null });
    await start();
    while ((await admittedCount(eventId)) < 3) await sleep(50);
    const patch = (payload: object) => t.app.inject({ method: 'PATCH', url: `/events/${eventId}/waiting-room`, headers: owner.auth, payload });
    // The tick holds the room's row lock: once PATCH has answered, no tick can still admit on the old state.
    expect((await patch({ state: 'paused' })).statusCode).toBe(200);
    const whenPaused = await admittedCount(eventId);
    await sleep(1000);
    expect(await admittedCount(eventId)).toBe(whenPaused);
    expect(whenPaused).toBeLessThan(30);

    expect((await patch({ state: 'open', admit_per_minute: 60 })).statusCode).toBe(200);
    const [{ at: resumedAt }] = (await queryRows<{ at: number }>(db(), sql`SELECT (extract(epoch FROM now()) * 1000)::float8 AS at`)) as [{ at: number }];
    await sleep(3000);
    await crowd.stop();
    const afterResume = (await admittedCount(eventId)) - whenPaused;
    // About one a second: at least one, and in the first 3 s of the database's time at most 5 (a credit of
    // three seconds' worth, capped at 2 a second: 2, 2, 1). Counted on admitted_at, not up to whenever this
    // test got to count (stopping the crowd may take a while on a busy host, and admissions go on meanwhile).
    expect(afterResume).toBeGreaterThanOrEqual(1);
    const inFirstThreeSeconds = await count(
      sql`SELECT count(*)::int AS n FROM queue_entries WHERE event_id = ${eventId}
          AND admitted_at >= to_timestamp(${resumedAt / 1000}) AND admitted_at < to_timestamp(${resumedAt / 1000 + 3})`,
    );
    expect(inFirstThreeSeconds).toBeLessThanOrEqual(5);
    expect(await busiestSecond(db(), eventId, resumedAt)).toBeLessThanOrEqual(2);
    expect(await busiestSecond(db(), eventId)).toBeLessThanOrEqual(Math.floor(600 / 60) + 1);
  });
});
