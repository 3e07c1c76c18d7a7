import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';

// The line itself. Joining and leaving take the event's row lock and keep events.waiting (the people in
// line, whose seats no buyer outside the line can take: see src/inventory/INVARIANTS.md) equal to the rows here;
// promotion, which turns places in line into holds, changes seats and lives in src/inventory/ too.

export interface WaitlistPlace {
  event_id: number;
  user_id: number;
  position: number;
  created_at: Date;
}

export type JoinOutcome = { kind: 'no-such-event' } | { kind: 'seats-available' } | { kind: 'already-in-line' } | { kind: 'joined'; id: number; seatsFree: boolean };

/**
 * Puts the buyer in line, only while the event has no seat for sale (free seats all belong to people already
 * in line) or its waiting room is closed (then the line is the only way to a seat). `FOR UPDATE` on the event orders the join with promotion and every seat change: a seat that came
 * back before it is seen (409, book it instead), one that comes back after it is reserved for the line by
 * events.waiting, which the join raised in the same statement. The unique (event_id, user_id) index makes a
 * second join a no-op, even when two arrive at once.
 */
export async function joinWaitlist(db: Db, eventId: number, userId: number): Promise<JoinOutcome> {
  const rows = await queryRows<{ free: number; sales_closed: boolean; id: number | null }>(
    db,
    sql`WITH ev AS (
          SELECT e.id, e.waiting, e.total_tickets - e.tickets_sold - e.tickets_held - e.waiting AS free,
                 -- A closed waiting room after its sale began: seats are sold only through this line.
                 EXISTS (SELECT 1 FROM waiting_rooms r WHERE r.event_id = e.id AND r.state = 'closed' AND r.onsale_at <= now()) AS sales_closed
          FROM events e WHERE e.id = ${eventId} FOR UPDATE
        ), joined AS (
          INSERT INTO waitlist (event_id, user_id) SELECT ev.id, ${userId} FROM ev WHERE ev.free <= 0 OR ev.sales_closed
          ON CONFLICT (event_id, user_id) DO NOTHING
          RETURNING id
        ), counted AS (
          -- From the locked row, as every counter write (see src/inventory/INVARIANTS.md).
          UPDATE events e SET waiting = ev.waiting + 1 FROM ev, joined WHERE e.id = ev.id
        )
        SELECT ev.free, ev.sales_closed, joined.id FROM ev LEFT JOIN joined ON true`,
  );
  const row = rows[0];
  if (!row) return { kind: 'no-such-event' };
  if (row.free > 0 && !row.sales_closed) return { kind: 'seats-available' };
  if (row.id === null) return { kind: 'already-in-line' };
  return { kind: 'joined', id: row.id, seatsFree: row.free > 0 };
}

/**
 * Leaves the line; false when the buyer was not in it (never joined, left, or already promoted). Under the
 * event's row lock, like a join: a promotion that took this place first deleted the row, and the DELETE,
 * re-checking it, finds nothing and leaves events.waiting alone.
 */
export async function leaveWaitlist(db: Db, eventId: number, userId: number): Promise<boolean> {
  const rows = await queryRows<{ id: number }>(
    db,
    sql`WITH ev AS (
          SELECT e.id, e.waiting FROM events e WHERE e.id = ${eventId} FOR UPDATE
        ), left_line AS (
          DELETE FROM waitlist w USING ev WHERE w.event_id = ev.id AND w.user_id = ${userId} RETURNING w.id
        ), counted AS (
          UPDATE events e SET waiting = ev.waiting - 1 FROM ev, left_line WHERE e.id = ev.id
        )
        SELECT id FROM left_line`,
  );
  return rows.length > 0;
}

/** The buyer's place in line now (1 = next), or null when not in it. Uses the (event_id, id) index. */
export async function findPlace(db: Db, eventId: number, userId: number): Promise<WaitlistPlace | null> {
  const rows = await queryRows<WaitlistPlace>(
    db,
    sql`SELECT w.event_id, w.user_id, w.created_at,
               (SELECT count(*) FROM waitlist ahead WHERE ahead.event_id = w.event_id AND ahead.id < w.id)::int + 1 AS position
        FROM waitlist w WHERE w.event_id = ${eventId} AND w.user_id = ${userId}`,
  );
  return rows[0] ?? null;
}
