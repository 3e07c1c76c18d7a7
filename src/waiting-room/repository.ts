import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import type { SnakeRow } from '../db/rows.js';
import type { queueEntries, waitingRooms } from '../db/schema.js';

// Rooms and places in line, outside the admission tick (admission.ts). One statement per function.

export type RoomState = (typeof waitingRooms.$inferSelect)['state'];
export type EntryStatus = (typeof queueEntries.$inferSelect)['status'];

/** A room as the statements return it (ROOM_COLUMNS); the seed, the credit and the tick times stay in the table. */
export type RoomRow = Pick<
  SnakeRow<typeof waitingRooms.$inferSelect>,
  | 'event_id'
  | 'state'
  | 'prequeue_opens_at'
  | 'onsale_at'
  | 'admit_per_minute'
  | 'max_active'
  | 'pass_minutes'
  | 'grace_seconds'
  | 'served_up_to'
  | 'last_position'
  | 'waiting'
  | 'active'
  | 'admitted_total'
  | 'abandoned_total'
>;

export type EntryRow = Pick<
  SnakeRow<typeof queueEntries.$inferSelect>,
  'event_id' | 'user_id' | 'position' | 'status' | 'joined_at' | 'pass_id' | 'pass_expires_at'
>;

export interface RoomSettings {
  prequeueOpensAt: Date;
  onsaleAt: Date;
  admitPerMinute: number;
  maxActive: number;
  passMinutes: number;
  graceSeconds: number;
}

export interface RoomPatch {
  state?: RoomState | undefined;
  admitPerMinute?: number | undefined;
  maxActive?: number | undefined;
}

export interface EventFacts {
  owner_id: number | null;
  sold_out: boolean;
}

const ROOM_COLUMNS = sql.raw(
  `r.event_id, r.state, r.prequeue_opens_at, r.onsale_at, r.admit_per_minute, r.max_active, r.pass_minutes, r.grace_seconds,
   r.served_up_to, r.last_position, r.waiting, r.active, r.admitted_total, r.abandoned_total`,
);

/** Who owns the event, and whether every seat is sold (no room may open then); null: no such event. */
export async function findEventFacts(db: Db, eventId: number): Promise<EventFacts | null> {
  const rows = await queryRows<EventFacts>(
    db,
    sql`SELECT owner_id, tickets_sold >= total_tickets AS sold_out FROM events WHERE id = ${eventId}`,
  );
  return rows[0] ?? null;
}

/** Creates the room (state open) or replaces its settings; places in line and counters are kept. */
export async function upsertRoom(db: Db, eventId: number, s: RoomSettings): Promise<RoomRow> {
  const seed = randomBytes(16).toString('hex');
  const rows = await queryRows<RoomRow>(
    db,
    sql`INSERT INTO waiting_rooms AS r (event_id, prequeue_opens_at, onsale_at, admit_per_minute, max_active, pass_minutes, grace_seconds, seed)
        VALUES (${eventId}, ${s.prequeueOpensAt.toISOString()}, ${s.onsaleAt.toISOString()}, ${s.admitPerMinute}, ${s.maxActive},
                ${s.passMinutes}, ${s.graceSeconds}, ${seed})
        ON CONFLICT (event_id) DO UPDATE SET
          prequeue_opens_at = EXCLUDED.prequeue_opens_at, onsale_at = EXCLUDED.onsale_at,
          admit_per_minute = EXCLUDED.admit_per_minute, max_active = EXCLUDED.max_active,
          pass_minutes = EXCLUDED.pass_minutes, grace_seconds = EXCLUDED.grace_seconds, updated_at = now()
        RETURNING ${ROOM_COLUMNS}`,
  );
  return rows[0]!;
}

/** Changes the given fields only; null when the event has no room. */
export async function patchRoom(db: Db, eventId: number, patch: RoomPatch): Promise<RoomRow | null> {
  const rows = await queryRows<RoomRow>(
    db,
    sql`UPDATE waiting_rooms r SET
          state = coalesce(${patch.state ?? null}::text, state),
          admit_per_minute = coalesce(${patch.admitPerMinute ?? null}::int, admit_per_minute),
          max_active = coalesce(${patch.maxActive ?? null}::int, max_active),
          updated_at = now()
        WHERE event_id = ${eventId}
        RETURNING ${ROOM_COLUMNS}`,
  );
  return rows[0] ?? null;
}

export async function deleteRoom(db: Db, eventId: number): Promise<boolean> {
  const rows = await queryRows(db, sql`DELETE FROM waiting_rooms WHERE event_id = ${eventId} RETURNING event_id`);
  return rows.length > 0;
}

export async function findRoom(db: Db, eventId: number): Promise<RoomRow | null> {
  const rows = await queryRows<RoomRow>(db, sql`SELECT ${ROOM_COLUMNS} FROM waiting_rooms r WHERE r.event_id = ${eventId}`);
  return rows[0] ?? null;
}

/**
 * The in-memory list that the booking path's check reads: every room not closed, and the closed ones of events
 * still to come (a closed room refuses new sales, so it must be known too).
 */
export function listLiveRooms(db: Db): Promise<RoomRow[]> {
  return queryRows<RoomRow>(
    db,
    sql`SELECT ${ROOM_COLUMNS} FROM waiting_rooms r JOIN events e ON e.id = r.event_id WHERE r.state <> 'closed' OR e.date > now()`,
  );
}

/**
 * One place per account: the unique index decides between parallel joins, in any process, so exactly one
 * of them inserts (created) and the others read the same row.
 */
export async function insertEntry(db: Db, eventId: number, userId: number): Promise<{ entry: EntryRow; created: boolean } | null> {
  const inserted = await queryRows<EntryRow>(
    db,
    sql`INSERT INTO queue_entries (event_id, user_id) VALUES (${eventId}, ${userId})
        ON CONFLICT (event_id, user_id) DO NOTHING
        RETURNING event_id, user_id, position, status, joined_at, pass_id, pass_expires_at`,
  );
  if (inserted[0]) return { entry: inserted[0], created: true };
  const existing = await findEntry(db, eventId, userId);
  return existing ? { entry: existing, created: false } : null;
}

export async function findEntry(db: Db, eventId: number, userId: number): Promise<EntryRow | null> {
  const rows = await queryRows<EntryRow>(
    db,
    sql`SELECT event_id, user_id, position, status, joined_at, pass_id, pass_expires_at
        FROM queue_entries WHERE event_id = ${eventId} AND user_id = ${userId}`,
  );
  return rows[0] ?? null;
}

/** A poll's one read: my place and the room it is in (both by primary key). */
export async function findEntryWithRoom(db: Db, eventId: number, userId: number): Promise<{ room: RoomRow; entry: EntryRow | null } | null> {
  const rows = await queryRows<RoomRow & { e_position: number | null; e_status: EntryStatus | null; e_joined_at: Date | null; e_pass_id: string | null; e_pass_expires_at: Date | null }>(
    db,
    sql`SELECT ${ROOM_COLUMNS}, q.position AS e_position, q.status AS e_status, q.joined_at AS e_joined_at,
               q.pass_id AS e_pass_id, q.pass_expires_at AS e_pass_expires_at
        FROM waiting_rooms r LEFT JOIN queue_entries q ON q.event_id = r.event_id AND q.user_id = ${userId}
        WHERE r.event_id = ${eventId}`,
  );
  const row = rows[0];
  if (!row) return null;
  const entry: EntryRow | null =
    row.e_status === null
      ? null
      : { event_id: eventId, user_id: userId, position: row.e_position, status: row.e_status, joined_at: row.e_joined_at!, pass_id: row.e_pass_id, pass_expires_at: row.e_pass_expires_at };
  return { room: row, entry };
}

/** The stream tick's one read of a room: the room and the places of the given buyers (those in line). */
export async function findEntriesWithRoom(db: Db, eventId: number, userIds: number[]): Promise<{ room: RoomRow; entries: EntryRow[] } | null> {
  const rows = await queryRows<RoomRow & { e_user_id: number | null; e_position: number | null; e_status: EntryStatus | null; e_joined_at: Date | null; e_pass_id: string | null; e_pass_expires_at: Date | null }>(
    db,
    sql`SELECT ${ROOM_COLUMNS}, q.user_id AS e_user_id, q.position AS e_position, q.status AS e_status, q.joined_at AS e_joined_at,
               q.pass_id AS e_pass_id, q.pass_expires_at AS e_pass_expires_at
        FROM waiting_rooms r LEFT JOIN queue_entries q ON q.event_id = r.event_id AND q.user_id = ANY(${`{${userIds.join(',')}}`}::int[])
        WHERE r.event_id = ${eventId}`,
  );
  if (!rows[0]) return null;
  const entries = rows.flatMap((row): EntryRow[] =>
    row.e_user_id === null || row.e_status === null
      ? []
      : [{ event_id: eventId, user_id: row.e_user_id, position: row.e_position, status: row.e_status, joined_at: row.e_joined_at!, pass_id: row.e_pass_id, pass_expires_at: row.e_pass_expires_at }],
  );
  return { room: rows[0], entries };
}

/**
 * Presence of many buyers of one room in one statement (the coalesced marks of a tick). SKIP LOCKED: a row
 * the leader is admitting or skipping right now needs no mark, and waiting for it could deadlock with the
 * tick, which locks its rows in another order.
 */
export async function markPresence(db: Db, eventId: number, userIds: number[]): Promise<void> {
  await db.execute(
    sql`UPDATE queue_entries SET last_seen_at = now()
        WHERE id IN (SELECT id FROM queue_entries
                     WHERE event_id = ${eventId} AND user_id = ANY(${`{${userIds.join(',')}}`}::int[]) AND status = 'waiting'
                     FOR UPDATE SKIP LOCKED)`,
  );
}

/** Purchases made with these passes: their slots in `active` are free from now on. */
export async function markPurchasesCompleted(db: Db, passIds: string[]): Promise<void> {
  await db.execute(
    sql`UPDATE queue_entries SET completed_at = now()
        WHERE pass_id = ANY(${`{${passIds.join(',')}}`}::uuid[]) AND completed_at IS NULL`,
  );
}

/** The event of an order and whether it is a waiting-list offer (confirming a hold names only the order); null: no such order. */
export async function findOrderToConfirm(db: Db, orderId: number): Promise<{ event_id: number; from_waitlist: boolean } | null> {
  const rows = await queryRows<{ event_id: number; from_waitlist: boolean }>(db, sql`SELECT event_id, from_waitlist FROM orders WHERE id = ${orderId}`);
  return rows[0] ?? null;
}
