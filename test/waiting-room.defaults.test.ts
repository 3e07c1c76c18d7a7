import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { inSeconds, join, poll } from './helpers/waiting-room.js';

let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await buildTestApp({ WAITING_ROOM_TICK_MS: '50' });
  owner = await registerAndLogin(t.app);
});
afterAll(() => t.close());

const put = (eventId: number, payload?: object) =>
  t.app.inject({ method: 'PUT', url: `/events/${eventId}/waiting-room`, headers: owner.auth, ...(payload ? { payload } : {}) });

describe('waiting room: settings left out', () => {
  it('when only onsale_at is given, then the rest takes its documented default', async () => {
    const event = await createEvent(t.app, owner);
    const before = Date.now();
    const onsaleAt = inSeconds(600);
    const response = await put(event.id, { onsale_at: onsaleAt });
    expect(response.statusCode, response.body).toBe(200);
    const room = response.json<Record<string, unknown>>();
    expect(room).toMatchObject({ onsale_at: onsaleAt, admit_per_minute: 60, pass_minutes: 10, grace_seconds: 30, max_active: 600 });
    // The pre-queue opens at once.
    expect(Date.parse(room.prequeue_opens_at as string)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(room.prequeue_opens_at as string)).toBeLessThanOrEqual(Date.now());
  });

  it('when the body is empty, then the room opens now, with no pre-queue, and max_active follows the given rate', async () => {
    const event = await createEvent(t.app, owner);
    const before = Date.now();
    const empty = await put(event.id);
    expect(empty.statusCode, empty.body).toBe(200);
    const room = empty.json<{ prequeue_opens_at: string; onsale_at: string }>();
    expect(room.prequeue_opens_at).toBe(room.onsale_at);
    expect(Date.parse(room.onsale_at)).toBeGreaterThanOrEqual(before - 1000);
    expect((await put(event.id, { admit_per_minute: 30, pass_minutes: 4 })).json()).toMatchObject({ max_active: 120 });
  });

  it('when onsale_at is given in the past, then the default pre-queue opening is onsale_at (not after it)', async () => {
    const event = await createEvent(t.app, owner);
    const onsaleAt = inSeconds(-30);
    expect((await put(event.id, { onsale_at: onsaleAt })).json()).toMatchObject({ prequeue_opens_at: onsaleAt, onsale_at: onsaleAt });
  });
});

describe('waiting room: the pre-queue', () => {
  it('when buyers wait in the pre-queue, then each gets an estimate: the time to onsale_at plus the middle of the line at the rate', async () => {
    // Arrange: on sale in two minutes, 60 a minute; three buyers in the pre-queue.
    const event = await createEvent(t.app, owner);
    expect((await put(event.id, { onsale_at: inSeconds(120), admit_per_minute: 60 })).statusCode).toBe(200);
    const buyers = [await registerAndLogin(t.app), await registerAndLogin(t.app), await registerAndLogin(t.app)];
    for (const buyer of buyers) expect((await join(t.app, buyer, event.id)).statusCode).toBe(201);
    // Act
    const entries = await Promise.all(buyers.map((buyer) => poll(t.app, buyer, event.id)));
    // Assert: no place drawn yet, but an estimate: ~120 s to the sale, plus 1 to 2 s for the middle of three at 1 a second.
    for (const entry of entries) {
      expect(entry).toMatchObject({ status: 'waiting', position: null });
      expect(entry.estimated_wait_seconds).not.toBeNull();
      expect(entry.estimated_wait_seconds!).toBeGreaterThanOrEqual(110);
      expect(entry.estimated_wait_seconds!).toBeLessThanOrEqual(123);
    }
  });
});
