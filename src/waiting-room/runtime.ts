import { drizzle } from 'drizzle-orm/node-postgres';
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';
import type { Registry } from 'prom-client';
import type { Db } from '../db/client.js';
import { LeaderLease } from '../db/leader.js';
import * as schema from '../db/schema.js';
import { admissionTick } from './admission.js';
import { createWaitingRoomMetrics, type WaitingRoomMetrics } from './metrics.js';
import { PassSigner } from './pass.js';
import { listLiveRooms, markPresence, markPurchasesCompleted, type RoomRow } from './repository.js';

// What every process keeps in memory about the waiting rooms, and the loop that keeps it fresh:
// - the rooms (state, onsale_at, counters; closed ones until their event), re-read every tick: the booking path's pass check
//   reads this Map and never the database. Staleness: at most one tick plus one query (docs/api/waiting-room.md);
// - presence marks of polling buyers, coalesced: a buyer's mark is written at most once per PRESENCE_EVERY_MS,
//   and all marks of a tick go out as one UPDATE per room;
// - completed purchases, coalesced for COMPLETION_FLUSH_MS into one UPDATE, which frees their slots.
// Every process runs the tick; only the holder of the `waiting-room` lease admits, and inside the tick the
// advisory lock (admission.ts) still keeps a stalled holder and its successor from admitting at once.
// The tick runs on a connection of its own (PostgreSQL): in the request pool it queued behind the crowd's
// polls, ran seconds late under load, and a late tick cannot catch up (no second may admit more than its
// share plus one), so the room admitted far below its rate.

const PRESENCE_EVERY_MS = 2_000;
const COMPLETION_FLUSH_MS = 50;
const REMEMBERED_COMPLETIONS = 100_000;
// A tick waiting for a room's one-second window to free starts this long before it does, and waits for the
// moment inside the database (admissionTick): a timer on a busy event loop fires late, never early enough.
// Without a connection of its own (the embedded database) the tick must not wait there: it comes just after.
const WINDOW_LEAD_MS = 40;
const WINDOW_MARGIN_MS = 2;
// The admitting process holds a lease (renewed at least every LEASE_RENEW_MS): the others do not tick at the
// same time and take its lock from under a tick timed for a window. One that dies is replaced within the ttl.
const LEASE_TTL_MS = 3_000;
const LEASE_RENEW_MS = 1_000;

export interface WaitingRoomOptions {
  tickMs: number;
  secretKey: string;
  log: FastifyBaseLogger;
  registry: Registry;
}

export class WaitingRoomRuntime {
  readonly passes: PassSigner;
  readonly tickMs: number;
  private rooms = new Map<number, RoomRow>();
  // Rooms this process changed, by the change's number: a refresh whose read began before a change keeps the
  // changed room as this process knows it, instead of the older row it read (see refresh()).
  private changes = 0;
  private readonly changedAt = new Map<number, number>();
  private readonly metrics: WaitingRoomMetrics;
  private readonly log: FastifyBaseLogger;
  private readonly presenceDue = new Map<number, Set<number>>();
  private readonly lastMarked = new Map<string, number>();
  private completions = new Set<string>();
  private completionTimer: NodeJS.Timeout | undefined;
  private completionFlush: Promise<void> | undefined;
  private readonly completed = new Set<string>();
  private readonly tickListeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** The tick's own connection (a pool of one beside the request pool); the embedded database is one anyway. */
  private readonly tickDb: Db;
  private readonly closeTickDb: () => Promise<void>;
  /** Whether the tick may wait inside its transaction (only on a connection of its own). */
  private readonly tickMayWait: boolean;
  /** The database's timestamp of the next window freeing, for the next tick to wait for. */
  private waitUntil: string | null = null;
  private readonly lease: LeaderLease;
  private leaseTriedAt = -Infinity;

  constructor(private readonly db: Db, options: WaitingRoomOptions) {
    [this.tickDb, this.closeTickDb] = ownConnection(db);
    this.tickMayWait = this.tickDb !== db;
    this.lease = new LeaderLease(this.tickDb, 'waiting-room', LEASE_TTL_MS);
    this.passes = new PassSigner(options.secretKey);
    this.tickMs = options.tickMs;
    this.log = options.log;
    this.metrics = createWaitingRoomMetrics(options.registry, () => [...this.rooms.values()].filter((room) => room.state !== 'closed'));
  }

  /** Loads the rooms before the app serves its first request, then ticks in the background. */
  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    clearTimeout(this.completionTimer);
    await this.flushCompletions();
    // Another process takes over at its next tick rather than after the ttl.
    if (this.lease.isLeader()) await this.lease.release().catch(() => undefined);
    await this.closeTickDb();
  }

  /** The room of an event, closed ones of events still to come included (in memory, at most a tick old). */
  room(eventId: number): RoomRow | undefined {
    return this.rooms.get(eventId);
  }

  /** Whether any room needs a pass right now: without one, confirming a hold skips the order lookup. */
  anyRoomGated(): boolean {
    for (const room of this.rooms.values()) if (room.state === 'open' || room.state === 'paused') return true;
    return false;
  }

  /** This process changed a room: it knows at once; the others within a tick. */
  roomChanged(eventId: number, room: RoomRow | null): void {
    this.changedAt.set(eventId, ++this.changes);
    if (room) this.rooms.set(eventId, room);
    else this.rooms.delete(eventId);
  }

  /** A poll or a stream message: the buyer is present. Written with the next tick, once per few seconds. */
  seen(eventId: number, userId: number, nowMs = Date.now()): void {
    const key = `${eventId}:${userId}`;
    const last = this.lastMarked.get(key);
    if (last !== undefined && nowMs - last < PRESENCE_EVERY_MS) return;
    this.lastMarked.set(key, nowMs);
    let users = this.presenceDue.get(eventId);
    if (!users) this.presenceDue.set(eventId, (users = new Set()));
    users.add(userId);
  }

  /** A purchase with this pass completed: its slot in `active` frees with the next flush (milliseconds). */
  purchaseCompleted(passId: string): void {
    if (this.completed.has(passId)) return;
    if (this.completed.size >= REMEMBERED_COMPLETIONS) this.completed.clear();
    this.completed.add(passId);
    this.completions.add(passId);
    this.completionTimer ??= setTimeout(() => {
      this.completionTimer = undefined;
      void this.flushCompletions();
    }, COMPLETION_FLUSH_MS);
  }

  /** Called after every tick of this process (the queue's SSE streams push from here). */
  onTick(listener: () => void): () => void {
    this.tickListeners.add(listener);
    return () => this.tickListeners.delete(listener);
  }

  /**
   * One tick: admission first, then presence marks, then the fresh room list. Admission comes first so that a
   * tick scheduled for the moment a room's one-second window frees admits at that moment: every ms between
   * the two is rate lost for good (no second may admit more than its share plus one). A mark written after
   * this tick's admission counts from the next one, at most a tick later: within the marks' own coalescing.
   * Answers when (Date.now() time) a room's one-second window frees room for more admissions, when it held some back.
   */
  async tick(): Promise<number | null> {
    // No room open or paused in the list (re-read below every tick): nothing to admit, no transaction.
    const waitUntil = this.waitUntil;
    this.waitUntil = null;
    const ticks = this.anyRoomGated() && (await this.leading()) ? await admissionTick(this.tickDb, this.tickMs / 1000, this.tickMayWait ? waitUntil : null) : null;
    const admittedAt = Date.now();
    let freesAt: number | null = null;
    for (const tick of ticks ?? []) {
      if (tick.windowFreesInMs !== null && admittedAt + tick.windowFreesInMs < (freesAt ?? Infinity)) {
        freesAt = admittedAt + tick.windowFreesInMs;
        this.waitUntil = tick.windowFreesAt;
      }
      this.metrics.admitted(tick.eventId, tick.admittedWaits);
      if (tick.abandoned > 0) this.metrics.abandoned(tick.eventId, tick.abandoned);
      if (tick.shuffled > 0) this.log.info({ event_id: tick.eventId, positions: tick.shuffled }, 'waiting room: pre-queue shuffled');
      if (tick.closed) this.log.info({ event_id: tick.eventId }, 'waiting room: event sold out, room closed');
    }
    await this.flushPresence();
    await this.refresh();
    for (const listener of this.tickListeners) listener();
    return freesAt;
  }

  /** Whether this process admits now: it holds the lease, renewed (or tried for) once per LEASE_RENEW_MS. */
  private async leading(): Promise<boolean> {
    if (Date.now() - this.leaseTriedAt < LEASE_RENEW_MS) return this.lease.isLeader();
    this.leaseTriedAt = Date.now();
    return this.lease.tryLead();
  }

  // One tick at a time, each due tickMs after the previous one started (a slow tick is not stacked on). When a
  // room held admissions back for its one-second window, the next tick comes when that window frees (see
  // WINDOW_LEAD_MS): otherwise that credit would wait up to a whole tick, and the room fall short of its rate.
  private schedule(delayMs = this.tickMs): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const started = Date.now();
      let freesAt: number | null = null;
      this.running = this.tick()
        .then((frees) => void (freesAt = frees))
        .catch((error: unknown) => this.log.warn({ err: error }, 'waiting room: tick failed; retrying at the next one'))
        .finally(() => {
          this.running = undefined;
          const regular = this.tickMs - (Date.now() - started);
          const window = freesAt === null ? Infinity : freesAt - Date.now() + (this.tickMayWait ? -WINDOW_LEAD_MS : WINDOW_MARGIN_MS);
          this.schedule(Math.max(0, Math.min(regular, window)));
        });
    }, delayMs);
    this.timer.unref();
  }

  /**
   * Re-reads the rooms (every tick; tests call it). The read may have begun before a PUT or PATCH of this
   * process committed and answered: replacing the whole map with it would undo that change here for a tick
   * (a new room not gating, a pause not pausing), so rooms changed since the read began keep their change.
   */
  async refresh(): Promise<void> {
    const readFrom = this.changes;
    const rooms = new Map<number, RoomRow>();
    for (const room of await listLiveRooms(this.tickDb)) rooms.set(room.event_id, room);
    for (const [eventId, change] of this.changedAt) {
      if (change <= readFrom) {
        this.changedAt.delete(eventId);
        continue;
      }
      const mine = this.rooms.get(eventId);
      if (mine) rooms.set(eventId, mine);
      else rooms.delete(eventId);
    }
    this.rooms = rooms;
  }

  private async flushPresence(): Promise<void> {
    // A snapshot: polls that arrive while a mark is written wait for the next tick. Iterating the live Map
    // visited the sets they re-added, so under a polling crowd this loop never ended and no one was admitted.
    const due = [...this.presenceDue];
    this.presenceDue.clear();
    for (const [eventId, users] of due) await markPresence(this.tickDb, eventId, [...users]);
    // Forget marks old enough to be written again anyway, so the map stays as large as the polling crowd.
    if (this.lastMarked.size > 10_000) {
      const cutoff = Date.now() - PRESENCE_EVERY_MS;
      for (const [key, at] of this.lastMarked) if (at < cutoff) this.lastMarked.delete(key);
    }
  }

  private async flushCompletions(): Promise<void> {
    await this.completionFlush;
    if (this.completions.size === 0) return;
    const passIds = [...this.completions];
    this.completions = new Set();
    this.completionFlush = markPurchasesCompleted(this.db, passIds)
      .catch((error: unknown) => this.log.warn({ err: error, passes: passIds.length }, 'waiting room: completed purchases not marked; their slots free when the passes expire'))
      .finally(() => {
        this.completionFlush = undefined;
      });
    await this.completionFlush;
  }
}

/** A pool of one connection with the request pool's settings, for the tick; the embedded database as it is. */
function ownConnection(db: Db): [Db, () => Promise<void>] {
  const shared = (db as unknown as { $client?: unknown }).$client;
  if (!(shared instanceof pg.Pool)) return [db, async () => undefined];
  const pool = new pg.Pool({ ...shared.options, max: 1, application_name: 'bookfast-waiting-room' });
  // As the request pool: a connection that loses its server must not crash the process.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return [drizzle(pool, { schema }) as unknown as Db, () => pool.end()];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The waiting room of this process (tests run its tick and read its room list). */
    waitingRoom: WaitingRoomRuntime;
  }
}
