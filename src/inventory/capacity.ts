import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { EVENT_COLUMNS, type EventRow, type EventValues } from '../db/rows.js';

// An owner's edits that change seats: capacity (with the rest of the event) and deleting an unsold event.
// The invariants and the lock order every statement here keeps: INVARIANTS.md in this folder.

/**
 * Applies an owner's edit. A new capacity is accepted only if it is not below the seats sold and held; the
 * UPDATE re-checks that on the newest row version under its row lock, so a capacity cut racing with
 * bookings can never leave tickets_sold > total_tickets. Null when no row matched.
 */
export async function updateEvent(db: Db, eventId: number, ownerId: number | null, values: EventValues): Promise<EventRow | null> {
  const rows = await queryRows<EventRow>(
    db,
    sql`UPDATE events e SET
          event_name = COALESCE(${values.eventName ?? null}::varchar, e.event_name),
          date = COALESCE(${values.date?.toISOString() ?? null}::timestamptz, e.date),
          ticket_price = COALESCE(${values.ticketPrice ?? null}::numeric, e.ticket_price),
          currency = COALESCE(${values.currency ?? null}::varchar, e.currency),
          total_tickets = COALESCE(${values.totalTickets ?? null}::int, e.total_tickets),
          max_per_order = COALESCE(${values.maxPerOrder ?? null}::int, e.max_per_order),
          max_per_user = CASE WHEN ${values.maxPerUser !== undefined}::boolean THEN ${values.maxPerUser ?? null}::int ELSE e.max_per_user END,
          hold_minutes = COALESCE(${values.holdMinutes ?? null}::int, e.hold_minutes)
        WHERE e.id = ${eventId} AND e.owner_id IS NOT DISTINCT FROM ${ownerId}::int
          AND e.tickets_sold + e.tickets_held <= COALESCE(${values.totalTickets ?? null}::int, e.total_tickets)
        RETURNING ${EVENT_COLUMNS}`,
  );
  return rows[0] ?? null;
}

/**
 * Deletes an event of `ownerId` that has no booked tickets (its cancelled ones go with it). The row lock
 * taken by DELETE orders it against bookings: a booking that committed first makes tickets_sold > 0 and
 * the delete matches nothing; a booking that comes after finds no event.
 */
export async function deleteUnsoldEvent(db: Db, eventId: number, ownerId: number | null): Promise<boolean> {
  const rows = await queryRows<{ id: number }>(
    db,
    sql`DELETE FROM events WHERE id = ${eventId} AND owner_id IS NOT DISTINCT FROM ${ownerId}::int AND tickets_sold = 0 RETURNING id`,
  );
  return rows.length > 0;
}
