import type { FastifyBaseLogger } from 'fastify';
import { assertOwnerOrAdmin } from '../auth/roles.js';
import type { Db } from '../db/client.js';
import { Conflict, invalidField, NotFound } from '../errors.js';
import { deleteRoom, findEntryWithRoom, findEventFacts, findRoom, insertEntry, patchRoom, upsertRoom, type EntryRow, type RoomRow } from './repository.js';
import type { StreamSession } from './pass.js';
import type { WaitingRoomRuntime } from './runtime.js';
import { ROOM_DEFAULTS, type QueueEntryOut, type RoomPatchBody, type RoomSettingsBody, type WaitingRoomOut } from './schemas.js';
import { parseIsoDate } from '../shapes/dates.js';

export interface RoomDeps {
  db: Db;
  room: WaitingRoomRuntime;
  log: FastifyBaseLogger;
}

const STREAM_TOKEN_SECONDS = 60;
const noRoom = () => new NotFound('This event has no waiting room');
const toWaitlist = (eventId: number) => `join the waiting list at /events/${eventId}/waitlist`;

export function toRoomOut(room: RoomRow): WaitingRoomOut {
  return {
    event_id: room.event_id,
    state: room.state,
    prequeue_opens_at: new Date(room.prequeue_opens_at).toISOString(),
    onsale_at: new Date(room.onsale_at).toISOString(),
    admit_per_minute: room.admit_per_minute,
    max_active: room.max_active,
    pass_minutes: room.pass_minutes,
    grace_seconds: room.grace_seconds,
    waiting: room.waiting,
    active: room.active,
    admitted_total: room.admitted_total,
    abandoned_total: room.abandoned_total,
  };
}

/** PUT: creates or replaces the room's settings (places in line are kept). Owner or admin. */
export async function configureRoom({ db, room, log }: RoomDeps, eventId: number, userId: number, body: RoomSettingsBody, now = new Date()) {
  const settings = withDefaults(body, now);
  await assertMayRunRoom(db, eventId, userId);
  const saved = await upsertRoom(db, eventId, settings);
  room.roomChanged(eventId, saved);
  log.info({ event_id: eventId, by_user_id: userId, settings: body }, 'waiting room: configured');
  return toRoomOut(saved);
}

/** PATCH: state, rate or max_active, live; the leader applies it at its next tick. */
export async function changeRoom({ db, room, log }: RoomDeps, eventId: number, userId: number, body: RoomPatchBody) {
  await assertMayRunRoom(db, eventId, userId);
  const changed = await patchRoom(db, eventId, { state: body.state, admitPerMinute: body.admit_per_minute, maxActive: body.max_active });
  if (!changed) throw noRoom();
  room.roomChanged(eventId, changed);
  log.info({ event_id: eventId, by_user_id: userId, change: body }, 'waiting room: changed');
  return toRoomOut(changed);
}

export async function removeRoom({ db, room, log }: RoomDeps, eventId: number, userId: number): Promise<void> {
  await assertMayRunRoom(db, eventId, userId);
  if (!(await deleteRoom(db, eventId))) throw noRoom();
  room.roomChanged(eventId, null);
  log.info({ event_id: eventId, by_user_id: userId }, 'waiting room: deleted; the event sells without it');
}

export async function getRoom(db: Db, eventId: number) {
  const found = await findRoom(db, eventId);
  if (!found) throw noRoom();
  return toRoomOut(found);
}

/** Joins the line once per account: `created` only for the one join that made the place. */
export async function joinQueue({ db, room }: RoomDeps, eventId: number, userId: number, nowMs = Date.now()) {
  const found = await findRoom(db, eventId);
  if (!found) throw noRoom();
  if (nowMs < new Date(found.prequeue_opens_at).getTime()) throw new Conflict('Queue not open yet');
  if (found.state === 'closed') throw new Conflict(`The sale through the waiting room is over: ${toWaitlist(eventId)}`);
  if ((await findEventFacts(db, eventId))?.sold_out) throw new Conflict(`Sold out: ${toWaitlist(eventId)}`);
  const joined = await insertEntry(db, eventId, userId);
  // The room was deleted between the two statements.
  if (!joined) throw noRoom();
  return { created: joined.created, entry: toEntryOut(room, found, joined.entry, nowMs) };
}

/** A poll: my place, as cheap as one read by primary key; it also marks me present (coalesced). */
export async function myPlace({ db, room }: RoomDeps, eventId: number, userId: number, nowMs = Date.now()) {
  const found = await findEntryWithRoom(db, eventId, userId);
  if (!found) throw noRoom();
  if (!found.entry) throw new NotFound(`Not in the queue: join it with POST /events/${eventId}/queue`);
  if (found.entry.status === 'waiting') room.seen(eventId, userId, nowMs);
  return toEntryOut(room, found.room, found.entry, nowMs);
}

/** A token for the stream of my place; 404 when the event has no room (or does not exist). */
export async function streamToken({ db, room }: RoomDeps, eventId: number, session: StreamSession) {
  if (!(await findRoom(db, eventId))) throw noRoom();
  return { token: room.passes.signStreamToken(eventId, session, STREAM_TOKEN_SECONDS), expires_in: STREAM_TOKEN_SECONDS };
}

export function toEntryOut(runtime: WaitingRoomRuntime, room: RoomRow, entry: EntryRow, nowMs: number): QueueEntryOut {
  const out: QueueEntryOut = {
    event_id: entry.event_id,
    user_id: entry.user_id,
    status: 'waiting',
    position: entry.position,
    ahead: null,
    estimated_wait_seconds: null,
    pass: null,
    pass_expires_at: null,
  };
  if (entry.status === 'abandoned') return { ...out, status: 'abandoned', detail: 'You did not poll when your turn came; your place was skipped' };
  if (entry.status === 'admitted') {
    const expiresAt = new Date(entry.pass_expires_at!).getTime();
    if (expiresAt <= nowMs) return { ...out, status: 'expired', ahead: 0, pass_expires_at: new Date(expiresAt).toISOString() };
    const pass = runtime.passes.signPass({ eventId: entry.event_id, userId: entry.user_id, expiresAt: Math.floor(expiresAt / 1000), id: entry.pass_id! });
    return { ...out, status: 'admitted', ahead: 0, estimated_wait_seconds: 0, pass, pass_expires_at: new Date(expiresAt).toISOString() };
  }
  if (room.state === 'closed') return { ...out, status: 'closed', detail: `The room is closed or the event sold out: ${toWaitlist(entry.event_id)}` };
  if (room.state === 'passthrough') return { ...out, status: 'admitted', ahead: 0, estimated_wait_seconds: 0, detail: 'No pass is needed right now: book directly' };
  const untilOnsale = Math.max(0, new Date(room.onsale_at).getTime() - nowMs) / 1000;
  const waitFor = (ahead: number) => Math.ceil(untilOnsale + ((ahead + 1) * 60) / room.admit_per_minute);
  // Pre-queue: the shuffle at onsale_at puts me anywhere among those in it, on average behind half the others.
  if (entry.position === null) return { ...out, estimated_wait_seconds: waitFor((Math.max(room.waiting, 1) - 1) / 2) };
  // Everyone between the serving counter and me is still waiting: skips happen only at the counter.
  const ahead = Math.max(0, entry.position - room.served_up_to - 1);
  return { ...out, ahead, estimated_wait_seconds: waitFor(ahead) };
}

/** The settings with every field left out given its default (ROOM_DEFAULTS, and the times from `now`). */
function withDefaults(body: RoomSettingsBody, now: Date) {
  const onsaleAt = body.onsale_at === undefined ? now : parseIsoDate(body.onsale_at, ['body', 'onsale_at']);
  const prequeueOpensAt =
    body.prequeue_opens_at === undefined ? new Date(Math.min(now.getTime(), onsaleAt.getTime())) : parseIsoDate(body.prequeue_opens_at, ['body', 'prequeue_opens_at']);
  if (prequeueOpensAt > onsaleAt) throw invalidField(['body', 'prequeue_opens_at'], 'prequeue_opens_at must not be after onsale_at');
  const admitPerMinute = body.admit_per_minute ?? ROOM_DEFAULTS.admit_per_minute;
  const passMinutes = body.pass_minutes ?? ROOM_DEFAULTS.pass_minutes;
  const maxActive = body.max_active ?? Math.min(admitPerMinute * passMinutes, 2147483647);
  return { prequeueOpensAt, onsaleAt, admitPerMinute, maxActive, passMinutes, graceSeconds: body.grace_seconds ?? ROOM_DEFAULTS.grace_seconds };
}

async function assertMayRunRoom(db: Db, eventId: number, userId: number): Promise<void> {
  const event = await findEventFacts(db, eventId);
  if (!event) throw new NotFound('Event not found');
  await assertOwnerOrAdmin(db, event.owner_id, userId, 'Only the event owner or an admin can run its waiting room');
}
