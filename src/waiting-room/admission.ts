import { sql } from 'drizzle-orm';
import { queryRows, transaction, type Db } from '../db/client.js';

// The admission tick: the only writer of positions, admissions and a room's counters. It runs in ONE short
// transaction that first takes pg_try_advisory_xact_lock(LEADER_LOCK): whoever gets it is the leader for
// this tick, in any process on any host; the others skip. A transaction-scoped lock is released by COMMIT,
// so it works through PgBouncer in transaction mode (no session state) and on the embedded PGlite.

const LEADER_LOCK = 7_201_915;
// Rows read per look at the head of the line (stale ones are skipped, so a look may not fill the quota).
const HEAD_BATCH = 500;
// A tick never admits or skips more than this per room; the rest waits for the next tick.
const MAX_SCAN_PER_TICK = 20_000;
// Longest a tick waits inside its transaction for a room's window to free (see admissionTick).
const MAX_WAIT_SECONDS = 0.1;

interface TickRoom {
  event_id: number;
  state: 'open' | 'paused';
  onsale: boolean;
  shuffled: boolean;
  sold_out: boolean;
  admit_per_minute: number;
  max_active: number;
  pass_minutes: number;
  grace_seconds: number;
  last_position: number;
  served_up_to: number;
  admit_credit: number;
}

export interface RoomTick {
  eventId: number;
  closed: boolean;
  shuffled: number;
  /** Seconds from join to admission, one per buyer admitted in this tick. */
  admittedWaits: number[];
  abandoned: number;
  /** When the one-second window held admissions back: ms from the tick's count of it until it frees room. */
  windowFreesInMs: number | null;
  /** The same moment as the database's timestamp, for the next tick's `waitUntil`. */
  windowFreesAt: string | null;
}

/**
 * Runs one tick if this process is the leader now; null when another process holds the lock.
 *
 * A room's clock in a tick is `at`, one database timestamp taken after its shuffle and placing (which may
 * take a second for a big pre-queue) and just before its counts: every count, stamp and window uses it.
 * `waitUntil` (a room's window freeing, from the previous tick) lets a tick that was
 * scheduled a little early wait for that moment inside the database (at most MAX_WAIT_SECONDS): then its
 * admissions come at the moment the window frees, not a timer's and a busy event loop's delay after it.
 * Each such delay is rate lost for good (no second may admit more than its share plus one).
 */
export async function admissionTick(db: Db, tickSeconds: number, waitUntil: string | null = null): Promise<RoomTick[] | null> {
  return transaction(db, async (tx) => {
    const [lock] = await queryRows<{ leader: boolean }>(tx, sql`SELECT pg_try_advisory_xact_lock(${LEADER_LOCK}) AS leader`);
    if (!lock?.leader) return null;
    // FOR NO KEY UPDATE: an operator's PATCH (pause, rate) lands either before this tick or after it, never
    // inside; joins (whose foreign key takes KEY SHARE on the room) are not held up by it.
    const rooms = await queryRows<TickRoom>(
      tx,
      sql`SELECT r.event_id, r.state, now() >= r.onsale_at AS onsale, r.shuffled_at IS NOT NULL AS shuffled,
                 e.tickets_sold >= e.total_tickets AS sold_out, r.admit_per_minute, r.max_active, r.pass_minutes,
                 r.grace_seconds, r.last_position, r.served_up_to, r.admit_credit
          FROM waiting_rooms r JOIN events e ON e.id = r.event_id
          WHERE r.state IN ('open', 'paused')
          ORDER BY r.event_id
          FOR NO KEY UPDATE OF r`,
    );
    const ticks: RoomTick[] = [];
    for (const room of rooms) ticks.push(await tickRoom(tx, room, tickSeconds, waitUntil));
    return ticks;
  });
}

async function tickRoom(tx: Db, room: TickRoom, tickSeconds: number, waitUntil: string | null): Promise<RoomTick> {
  const eventId = room.event_id;
  const result: RoomTick = { eventId, closed: false, shuffled: 0, admittedWaits: [], abandoned: 0, windowFreesInMs: null, windowFreesAt: null };
  if (room.sold_out) {
    // Sold out: the room closes; people still waiting see `closed` and are pointed to the waiting list.
    await tx.execute(sql`UPDATE waiting_rooms SET state = 'closed', updated_at = now() WHERE event_id = ${eventId}`);
    result.closed = true;
    return result;
  }
  let lastPosition = room.last_position;
  let servedUpTo = room.served_up_to;
  let credit = room.admit_credit;
  if (room.onsale && !room.shuffled) {
    // The fair start: every pre-queue joiner gets a place from a permutation seeded by the room's seed, in
    // one statement whatever the crowd. md5(seed:user) orders them uniformly at random and reproducibly.
    const [shuffled] = await queryRows<{ n: number }>(
      tx,
      sql`WITH ranked AS (
            SELECT q.id, row_number() OVER (ORDER BY md5(r.seed || ':' || q.user_id), q.user_id) AS rn
            FROM queue_entries q JOIN waiting_rooms r ON r.event_id = q.event_id
            WHERE q.event_id = ${eventId} AND q.position IS NULL AND q.joined_at < r.onsale_at)
          , done AS (UPDATE queue_entries q SET position = ranked.rn FROM ranked WHERE q.id = ranked.id RETURNING 1)
          SELECT count(*)::int AS n FROM done`,
    );
    result.shuffled = shuffled!.n;
    lastPosition = result.shuffled;
    await tx.execute(sql`UPDATE waiting_rooms SET shuffled_at = now() WHERE event_id = ${eventId}`);
  }
  if (room.onsale) {
    // Joiners after the start follow, in arrival order, with no gaps.
    const [placed] = await queryRows<{ n: number }>(
      tx,
      sql`WITH ranked AS (
            SELECT id, row_number() OVER (ORDER BY joined_at, id) AS rn FROM queue_entries
            WHERE event_id = ${eventId} AND position IS NULL)
          , done AS (UPDATE queue_entries q SET position = ${lastPosition} + ranked.rn FROM ranked WHERE q.id = ranked.id RETURNING 1)
          SELECT count(*)::int AS n FROM done`,
    );
    lastPosition += placed!.n;
  }

  const counts = await roomClock(tx, eventId, waitUntil);
  const at = counts.at;
  let active = counts.active;
  if (room.onsale && room.state === 'open') {
    // Smoothed pacing: credit accrues at admit_per_minute / 60 per second of real (database) time; no
    // one-second window may admit more than floor(share) + 1. Up to two seconds' worth may be banked, so a
    // tick that runs late (a busy host) loses no rate; whatever the bank, the window cap holds.
    const share = room.admit_per_minute / 60;
    const elapsed = Math.max(0, counts.since_last_tick ?? tickSeconds);
    credit = Math.min(credit + share * elapsed, 2 * share + 1);
    const windowRoom = Math.floor(share) + 1 - counts.recent;
    const quota = Math.max(0, Math.min(Math.floor(credit), windowRoom, room.max_active - active));
    // The window, not the credit or max_active, held some back: say when its oldest admissions leave it.
    if (windowRoom < Math.min(Math.floor(credit), room.max_active - active) && counts.frees_in_ms !== null) {
      result.windowFreesInMs = counts.frees_in_ms;
      result.windowFreesAt = counts.frees_at;
    }
    if (quota > 0) {
      const head = await serveHead(tx, room, quota, at);
      result.admittedWaits = head.admittedWaits;
      result.abandoned = head.abandoned;
      servedUpTo = Math.max(servedUpTo, head.servedUpTo);
      credit -= head.admittedWaits.length;
      active += head.admittedWaits.length;
    }
  }
  // Once on sale everyone has a position and skips happen only at the counter, so everyone past the counter
  // is waiting: no count of a line of 100,000 per tick. Before, the pre-queue is counted.
  const waiting = room.onsale
    ? { n: lastPosition - servedUpTo }
    : (await queryRows<{ n: number }>(tx, sql`SELECT count(*)::int AS n FROM queue_entries WHERE event_id = ${eventId} AND status = 'waiting'`))[0];
  await tx.execute(
    sql`UPDATE waiting_rooms SET last_position = ${lastPosition}, served_up_to = ${servedUpTo}, admit_credit = ${credit},
          last_tick_at = ${at}::timestamptz, waiting = ${waiting!.n}, active = ${active},
          admitted_total = admitted_total + ${result.admittedWaits.length}, abandoned_total = abandoned_total + ${result.abandoned}
        WHERE event_id = ${eventId}`,
  );
  return result;
}

/**
 * The room's clock for this tick and its counts, in one round trip (each is time the window loses): `at`
 * (after waiting inside the database until `waitUntil`, at most MAX_WAIT_SECONDS); seconds since the last
 * tick; active, i.e. passes issued and not expired minus those whose purchase completed; the admissions in
 * the one-second window before `at`, and when the oldest of them leave it (ms from now, and a timestamp).
 */
async function roomClock(tx: Db, eventId: number, waitUntil: string | null) {
  const wait = waitUntil === null ? sql`0` : sql`least(${MAX_WAIT_SECONDS}, greatest(0, extract(epoch FROM ${waitUntil}::timestamptz - clock_timestamp())))`;
  const [row] = await queryRows<{ at: string; since_last_tick: number | null; active: number; recent: number; frees_in_ms: number | null; frees_at: string | null }>(
    tx,
    sql`WITH t AS MATERIALIZED (SELECT clock_timestamp() AS at FROM pg_sleep(${wait}))
        SELECT t.at::text AS at, extract(epoch FROM t.at - r.last_tick_at)::float8 AS since_last_tick,
               (SELECT count(*)::int FROM queue_entries
                WHERE event_id = ${eventId} AND status = 'admitted' AND completed_at IS NULL AND pass_expires_at > t.at) AS active,
               w.recent, (extract(epoch FROM w.frees - clock_timestamp()) * 1000)::float8 AS frees_in_ms, w.frees::text AS frees_at
        FROM t CROSS JOIN waiting_rooms r
        CROSS JOIN LATERAL (SELECT count(*)::int AS recent, min(admitted_at) + interval '1 second' AS frees FROM queue_entries
                            WHERE event_id = ${eventId} AND admitted_at > t.at - interval '1 second') w
        WHERE r.event_id = ${eventId}`,
  );
  return row!;
}

/**
 * Walks the head of the line in position order: whoever polled within grace_seconds is admitted (a pass
 * id and expiry), whoever did not is skipped as abandoned and takes no slot, until `quota` are admitted.
 */
async function serveHead(tx: Db, room: TickRoom, quota: number, at: string) {
  const admittedWaits: number[] = [];
  let abandoned = 0;
  let servedUpTo = 0;
  let after = 0;
  for (let scanned = 0; admittedWaits.length < quota && scanned < MAX_SCAN_PER_TICK; ) {
    const head = await queryRows<{ id: string; position: number; present: boolean }>(
      tx,
      sql`SELECT id::text, position, last_seen_at > ${at}::timestamptz - make_interval(secs => ${room.grace_seconds}) AS present
          FROM queue_entries
          WHERE event_id = ${room.event_id} AND status = 'waiting' AND position IS NOT NULL AND position > ${after}
          ORDER BY position LIMIT ${HEAD_BATCH}`,
    );
    if (head.length === 0) break;
    scanned += head.length;
    const admit: string[] = [];
    const skip: string[] = [];
    for (const entry of head) {
      if (admittedWaits.length + admit.length >= quota) break;
      (entry.present ? admit : skip).push(entry.id);
      after = entry.position;
    }
    servedUpTo = after;
    if (skip.length > 0) {
      await tx.execute(sql`UPDATE queue_entries SET status = 'abandoned' WHERE id = ANY(${`{${skip.join(',')}}`}::bigint[])`);
      abandoned += skip.length;
    }
    if (admit.length > 0) {
      const rows = await queryRows<{ waited: number }>(
        tx,
        sql`UPDATE queue_entries SET status = 'admitted', admitted_at = ${at}::timestamptz, pass_id = gen_random_uuid(),
              pass_expires_at = ${at}::timestamptz + make_interval(mins => ${room.pass_minutes})
            WHERE id = ANY(${`{${admit.join(',')}}`}::bigint[])
            RETURNING extract(epoch FROM ${at}::timestamptz - joined_at)::float8 AS waited`,
      );
      for (const row of rows) admittedWaits.push(row.waited);
    }
    if (head.length < HEAD_BATCH) break;
  }
  return { admittedWaits, abandoned, servedUpTo };
}
