import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { EVENT_COLUMNS, type EventRow } from '../db/rows.js';
import { EXPIRE_OVERDUE_HOLDS_OF_EV } from './fragments.js';
import { expiredHoldsWebhooks } from '../outbox/splices.js';
import { pickEvent } from './rows.js';

// Holds that run out: the sweeper's statement. Orders and confirms are batched (order-batch.ts, settle-batch.ts);
// every one of these statements expires the overdue holds of the event it locks, too.

/**
 * Takes the event's row lock and expires its overdue holds (seats back: tickets_held -= their quantity).
 * Null when there is no such event. The lock is released when the statement ends (the sweeper). Safe: `FOR UPDATE` waits for every other writer of the event and
 * re-reads its newest row; each expiry re-checks `status = 'pending'` on the order's newest version, so an
 * order confirmed meanwhile is never expired, and each hold's seats come back exactly once. `waiting` is the
 * number of people in line (their seats are not for sale). Each expired hold's order.expired webhook is written
 * by the same statement.
 */
export async function lockEventReleasingExpiredHolds(
  db: Db,
  eventId: number,
): Promise<{ event: EventRow; released: number; waiting: number } | null> {
  const rows = await queryRows<EventRow & { released: number; waiting: number }>(
    db,
    sql`WITH ev AS (
          SELECT ${EVENT_COLUMNS}, e.waiting FROM events e WHERE e.id = ${eventId} FOR UPDATE
        ), expired AS (
          ${sql.raw(EXPIRE_OVERDUE_HOLDS_OF_EV)}
        ), freed AS (
          SELECT COALESCE(sum(quantity), 0)::int AS seats FROM expired
        ), released AS (
          UPDATE events e SET total_tickets = ev.total_tickets, tickets_sold = ev.tickets_sold, tickets_held = ev.tickets_held - freed.seats
          FROM ev, freed WHERE e.id = ev.id AND freed.seats > 0
          RETURNING ${EVENT_COLUMNS}
        ), ${sql.raw(expiredHoldsWebhooks('released'))}
        SELECT ev.*, freed.seats AS released FROM ev, freed`,
  );
  const row = rows[0];
  if (!row) return null;
  return { event: { ...pickEvent(row), tickets_held: row.tickets_held - row.released }, released: row.released, waiting: row.waiting };
}
