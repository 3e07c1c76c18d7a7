import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.js';
import { buildTestApp, closeCheckingInventory, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { countBooked } from './helpers/test-db.js';
import { inSeconds, join, manyUsers, poll, pollUntilDone, putRoom, roomSettings } from './helpers/waiting-room.js';

let t: TestApp;
let owner: TestUser;
let buyer: TestUser;
beforeAll(async () => {
  t = await buildTestApp({ WAITING_ROOM_TICK_MS: '50' });
  owner = await registerAndLogin(t.app);
  buyer = await registerAndLogin(t.app);
});
afterAll(() => closeCheckingInventory(t));

const book = (user: TestUser, eventId: number, pass?: string, extra: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: '/book', headers: { ...user.auth, ...(pass === undefined ? {} : { 'queue-pass': pass }), ...extra }, payload: { event_id: eventId } });
const passRequired = (eventId: number) => ({ detail: `A queue pass is required: join the queue at /events/${eventId}/queue` });

/** An on-sale event with an open room, and `user` admitted: returns the event id and the pass. */
async function admitted(user: TestUser, fields: Record<string, unknown> = {}) {
  const event = await createEvent(t.app, owner, fields);
  await putRoom(t.app, owner, event.id, roomSettings());
  expect((await join(t.app, user, event.id)).statusCode).toBe(201);
  const entry = await pollUntilDone(t.app, user, event.id);
  expect(entry.status).toBe('admitted');
  return { eventId: event.id, pass: entry.pass! };
}

describe('waiting room: the organizer contract', () => {
  it('when the settings break a rule, then 422 names the field; a stranger gets 403; an event without room 404', async () => {
    const event = await createEvent(t.app, owner);
    const put = (user: TestUser, payload: object) => t.app.inject({ method: 'PUT', url: `/events/${event.id}/waiting-room`, headers: user.auth, payload });
    const late = await put(owner, roomSettings({ prequeue_opens_at: inSeconds(60), onsale_at: inSeconds(30) }));
    expect(late.statusCode).toBe(422);
    expect(JSON.stringify(late.json())).toContain('prequeue_opens_at');
    for (const bad of [{ admit_per_minute: 0 }, { admit_per_minute: 1_000_001 }, { max_active: 0 }, { pass_minutes: 121 }, { grace_seconds: 4 }, { grace_seconds: 3601 }]) {
      expect((await put(owner, roomSettings(bad))).statusCode).toBe(422);
    }
    expect((await put(buyer, roomSettings())).json()).toEqual({ detail: 'Only the event owner or an admin can run its waiting room' });
    expect((await t.app.inject({ method: 'GET', url: `/events/${event.id}/waiting-room` })).statusCode).toBe(404);
    expect((await join(t.app, buyer, event.id)).statusCode).toBe(404);
  });

  it('when a room is created, changed and deleted, then GET shows it and the event sells as before after DELETE', async () => {
    const event = await createEvent(t.app, owner);
    const created = await putRoom(t.app, owner, event.id, roomSettings({ admit_per_minute: 120 }));
    expect(created).toMatchObject({ event_id: event.id, state: 'open', admit_per_minute: 120, waiting: 0, active: 0, admitted_total: 0, abandoned_total: 0 });
    const patched = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}/waiting-room`, headers: owner.auth, payload: { state: 'paused', max_active: 7 } });
    expect(patched.json()).toMatchObject({ state: 'paused', max_active: 7, admit_per_minute: 120 });
    const read = await t.app.inject({ method: 'GET', url: `/events/${event.id}/waiting-room` });
    expect(read.json()).toMatchObject({ state: 'paused', max_active: 7 });
    expect(read.headers['cache-control']).toBe('public, max-age=1');
    expect((await book(buyer, event.id)).json()).toEqual(passRequired(event.id));
    expect((await t.app.inject({ method: 'DELETE', url: `/events/${event.id}/waiting-room`, headers: owner.auth })).statusCode).toBe(204);
    expect((await book(buyer, event.id)).statusCode).toBe(200);
  });
});

describe('waiting room: joining and polling', () => {
  it('when the pre-queue is not open yet, then 409 "Queue not open yet"', async () => {
    const event = await createEvent(t.app, owner);
    await putRoom(t.app, owner, event.id, roomSettings({ prequeue_opens_at: inSeconds(600), onsale_at: inSeconds(900) }));
    expect((await join(t.app, buyer, event.id)).json()).toEqual({ detail: 'Queue not open yet' });
  });

  it('when one account joins 20 times at once, then exactly one answer is 201 and all show the same place', async () => {
    const event = await createEvent(t.app, owner);
    await putRoom(t.app, owner, event.id, roomSettings({ onsale_at: inSeconds(600) }));
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${t.baseUrl}/events/${event.id}/queue`, { method: 'POST', headers: buyer.auth })),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(19);
    const rows = await queryRows<{ n: number }>(t.testDb.database.db, sql`SELECT count(*)::int AS n FROM queue_entries WHERE event_id = ${event.id}`);
    expect(rows[0]!.n).toBe(1);
    const entry = await poll(t.app, buyer, event.id);
    expect(entry).toMatchObject({ status: 'waiting', position: null, ahead: null, pass: null });
  });

  it('when the sale is not on yet, then POST /book and POST /orders answer 403 "Not on sale yet"', async () => {
    const event = await createEvent(t.app, owner);
    await putRoom(t.app, owner, event.id, roomSettings({ onsale_at: inSeconds(600) }));
    expect((await book(buyer, event.id)).json()).toEqual({ detail: 'Not on sale yet' });
    const order = await t.app.inject({ method: 'POST', url: '/orders', headers: buyer.auth, payload: { event_id: event.id, quantity: 1 } });
    expect(order.statusCode).toBe(403);
    expect(order.json()).toEqual({ detail: 'Not on sale yet' });
  });

  it('when the room is in passthrough, then no pass is needed and a queued buyer is told to book directly', async () => {
    const event = await createEvent(t.app, owner);
    await putRoom(t.app, owner, event.id, roomSettings({ admit_per_minute: 1, max_active: 1 }));
    await join(t.app, buyer, event.id);
    await t.app.inject({ method: 'PATCH', url: `/events/${event.id}/waiting-room`, headers: owner.auth, payload: { state: 'passthrough' } });
    expect((await poll(t.app, buyer, event.id)).status).toBe('admitted');
    expect((await book(buyer, event.id)).statusCode).toBe(200);
  });

  it('when the event sells out, then the room closes, waiting people see closed and new joins are refused', async () => {
    const [first, second, third] = await manyUsers(t.app, t.testDb.database, 3);
    const { eventId, pass } = await admitted(first!, { total_tickets: 1 });
    await t.app.inject({ method: 'PATCH', url: `/events/${eventId}/waiting-room`, headers: owner.auth, payload: { state: 'paused' } });
    await join(t.app, second!, eventId);
    expect((await book(first!, eventId, pass)).statusCode).toBe(200);
    await t.app.inject({ method: 'PATCH', url: `/events/${eventId}/waiting-room`, headers: owner.auth, payload: { state: 'open' } });
    const entry = await pollUntilDone(t.app, second!, eventId);
    expect(entry.status).toBe('closed');
    expect(entry.detail).toContain(`/events/${eventId}/waitlist`);
    const late = await join(t.app, third!, eventId);
    expect(late.statusCode).toBe(409);
    expect(late.json<{ detail: string }>().detail).toContain('waiting list');
  });
});

describe('waiting room: the pass on the booking path', () => {
  it('when the pass is missing, tampered, expired, another event’s or another user’s, then 403; a valid one books', async () => {
    const { eventId, pass } = await admitted(buyer);
    const other = await admitted(buyer);
    const stranger = await registerAndLogin(t.app);
    const [kind, event, user, exp, id, mac] = pass.split('.');
    const expired = t.app.waitingRoom.passes.signPass({ eventId, userId: buyer.id, expiresAt: Math.floor(Date.now() / 1000) - 1, id: id! });
    const refusals = [
      await book(buyer, eventId),
      await book(buyer, eventId, `${kind}.${event}.${user}.${Number(exp) + 3600}.${id}.${mac}`),
      await book(buyer, eventId, `${pass.slice(0, -2)}AA`),
      await book(buyer, eventId, expired),
      await book(buyer, eventId, other.pass),
      await book(stranger, eventId, pass),
    ];
    for (const refusal of refusals) {
      expect(refusal.statusCode).toBe(403);
      expect(refusal.json()).toEqual(passRequired(eventId));
    }
    expect(await countBooked(t.testDb.database, eventId)).toBe(0);
    expect((await book(buyer, eventId, pass)).statusCode).toBe(200);
    // A hold can be confirmed with the same pass while it lasts; without one it is refused.
    const hold = await t.app.inject({ method: 'POST', url: '/orders', headers: { ...buyer.auth, 'queue-pass': pass }, payload: { event_id: eventId, quantity: 1, hold: true } });
    expect(hold.statusCode).toBe(200);
    const confirm = (headers: Record<string, string>) =>
      t.app.inject({ method: 'POST', url: `/orders/${hold.json<{ id: number }>().id}/confirm`, headers: { ...buyer.auth, ...headers } });
    expect((await confirm({})).json()).toEqual(passRequired(eventId));
    expect((await confirm({ 'queue-pass': pass })).json()).toMatchObject({ status: 'confirmed' });
  });

  it('when a pass is used with an Idempotency-Key twice, then one ticket is booked and the retry replays it', async () => {
    const { eventId, pass } = await admitted(buyer);
    const key = randomUUID();
    const first = await book(buyer, eventId, pass, { 'idempotency-key': key });
    const again = await book(buyer, eventId, pass, { 'idempotency-key': key });
    expect(first.statusCode).toBe(200);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(await countBooked(t.testDb.database, eventId)).toBe(1);
  });

  it('when a keyed purchase is retried after its pass expired (or without one), then it replays its first answer; a new key is refused', async () => {
    const { eventId, pass } = await admitted(buyer);
    const id = pass.split('.')[4]!;
    const expired = t.app.waitingRoom.passes.signPass({ eventId, userId: buyer.id, expiresAt: Math.floor(Date.now() / 1000) - 1, id });
    const key = randomUUID();
    const first = await book(buyer, eventId, pass, { 'idempotency-key': key });
    expect(first.statusCode).toBe(200);
    for (const retryPass of [expired, undefined]) {
      const retry = await book(buyer, eventId, retryPass, { 'idempotency-key': key });
      expect(retry.statusCode).toBe(200);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.json()).toEqual(first.json());
    }
    // A new key sells, so it needs a valid pass; the refusal is not stored as that key's answer.
    const fresh = randomUUID();
    expect((await book(buyer, eventId, expired, { 'idempotency-key': fresh })).json()).toEqual(passRequired(eventId));
    expect((await book(buyer, eventId, pass, { 'idempotency-key': fresh })).statusCode).toBe(200);
    // The recorded key with another request is refused for the pass, not replayed.
    const otherBody = await t.app.inject({ method: 'POST', url: '/orders', headers: { ...buyer.auth, 'queue-pass': expired, 'idempotency-key': key }, payload: { event_id: eventId, quantity: 2 } });
    expect(otherBody.json()).toEqual(passRequired(eventId));

    // POST /orders looks its key up first: the same holds there.
    const orderKey = randomUUID();
    const order = (queuePass: string) =>
      t.app.inject({ method: 'POST', url: '/orders', headers: { ...buyer.auth, 'queue-pass': queuePass, 'idempotency-key': orderKey }, payload: { event_id: eventId, quantity: 2 } });
    const placed = await order(pass);
    expect(placed.statusCode).toBe(200);
    const replayed = await order(expired);
    expect(replayed.statusCode).toBe(200);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.json()).toEqual(placed.json());
    expect(await countBooked(t.testDb.database, eventId)).toBe(4);
  });

  it('when 40 admitted buyers race for 15 seats with their passes, then exactly 15 are booked (no oversell)', async () => {
    const buyers = await manyUsers(t.app, t.testDb.database, 40);
    const event = await createEvent(t.app, owner, { total_tickets: 15 });
    await putRoom(t.app, owner, event.id, roomSettings());
    for (const user of buyers) await join(t.app, user, event.id);
    const passes = await Promise.all(buyers.map((user) => pollUntilDone(t.app, user, event.id)));
    expect(passes.every((entry) => entry.status === 'admitted')).toBe(true);
    const results = await Promise.all(
      buyers.map((user, i) =>
        fetch(`${t.baseUrl}/book`, {
          method: 'POST',
          headers: { ...user.auth, 'queue-pass': passes[i]!.pass!, 'content-type': 'application/json' },
          body: JSON.stringify({ event_id: event.id }),
        }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(15);
    expect(results.filter((r) => r.status !== 200).every((r) => r.status === 400)).toBe(true);
    expect(await countBooked(t.testDb.database, event.id)).toBe(15);
  });

  it('when an admitted buyer completes a purchase, then their slot in active frees and the next person is admitted', async () => {
    const [holder, waiter] = await manyUsers(t.app, t.testDb.database, 2);
    const event = await createEvent(t.app, owner);
    await putRoom(t.app, owner, event.id, roomSettings({ max_active: 1 }));
    // After the start, places follow arrival order: the holder is first in line.
    await join(t.app, holder!, event.id);
    await join(t.app, waiter!, event.id);
    const first = await pollUntilDone(t.app, holder!, event.id);
    expect(first.status).toBe('admitted');
    // The waiter gets a place at a tick after joining; with the one slot taken, they stay waiting.
    let behind = await poll(t.app, waiter!, event.id);
    for (const deadline = Date.now() + 10_000; behind.position === null && Date.now() < deadline; await sleep(20)) behind = await poll(t.app, waiter!, event.id);
    await sleep(300);
    expect(await poll(t.app, waiter!, event.id)).toMatchObject({ status: 'waiting', position: 2, ahead: 0 });
    expect((await book(holder!, event.id, first.pass!)).statusCode).toBe(200);
    // The pass would last ten minutes: only the completed purchase can have freed the slot.
    expect((await pollUntilDone(t.app, waiter!, event.id, 5_000)).status).toBe('admitted');
  });
});
