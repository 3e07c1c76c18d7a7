import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.js';
import { buildTestApp, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { inSeconds, join, manyUsers, putRoom, roomSettings } from './helpers/waiting-room.js';

let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await buildTestApp({ WAITING_ROOM_TICK_MS: '50' });
  owner = await registerAndLogin(t.app);
});
afterAll(() => t.close());

const positionsOf = async (eventId: number) =>
  new Map(
    (
      await queryRows<{ user_id: number; position: number | null }>(t.testDb.database.db, sql`SELECT user_id, position FROM queue_entries WHERE event_id = ${eventId}`)
    ).map((row) => [row.user_id, row.position]),
  );

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

describe('waiting room: the fair start', () => {
  it('when 300 join the pre-queue, the first fifth before the rest, then the shuffle gives 1..N with the early fifth spread evenly, and later joiners follow in arrival order', async () => {
    const N = 300;
    const crowd = await manyUsers(t.app, t.testDb.database, N + 20);
    const early = crowd.slice(0, N / 5);
    const rest = crowd.slice(N / 5, N);
    const late = crowd.slice(N);
    const event = await createEvent(t.app, owner);
    // Slow admissions: this test is about places, not pacing.
    const settings = roomSettings({ onsale_at: inSeconds(3600), admit_per_minute: 1, max_active: 1 });
    await putRoom(t.app, owner, event.id, settings);
    for (const user of early) expect((await join(t.app, user, event.id)).statusCode).toBe(201);
    for (let i = 0; i < rest.length; i += 20) await Promise.all(rest.slice(i, i + 20).map((user) => join(t.app, user, event.id)));
    expect([...(await positionsOf(event.id)).values()].every((position) => position === null)).toBe(true);

    // The sale starts now: the next tick shuffles the pre-queue in one statement.
    await putRoom(t.app, owner, event.id, { ...settings, onsale_at: inSeconds(0) });
    const shuffled = await until(() => positionsOf(event.id), (positions) => [...positions.values()].every((p) => p !== null));
    expect([...shuffled.values()].sort((a, b) => a! - b!)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    const earlyMean = early.reduce((sum, user) => sum + shuffled.get(user.id)!, 0) / early.length;
    // Arrival order would put them at about N/10 (30.5); a uniform shuffle at N/2 (150.5, standard error about 10).
    expect(earlyMean).toBeGreaterThan(N * 0.35);
    expect(earlyMean).toBeLessThan(N * 0.65);

    for (const user of late) {
      await join(t.app, user, event.id);
      // Distinct arrival instants, so "arrival order" is unambiguous.
      await sleep(5);
    }
    const placed = await until(() => positionsOf(event.id), (positions) => late.every((user) => positions.get(user.id) !== null));
    expect(late.map((user) => placed.get(user.id))).toEqual(Array.from({ length: late.length }, (_, i) => N + 1 + i));
    // Positions are fixed: the pre-queue's did not move.
    for (const user of [...early, ...rest]) expect(placed.get(user.id)).toBe(shuffled.get(user.id));
  });
});
