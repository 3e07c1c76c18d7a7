import { sql } from 'drizzle-orm';
import { queryRows, type Database, type Db } from '../db/client.js';
import { EVENT_COLUMN_LIST, EVENT_COLUMNS, type EventRow } from '../events/repository.js';
import type { EventValues } from '../events/values.js';

// Every statement that changes an event's seats (tickets_sold, tickets_held, total_tickets, booked tickets)
// is here, and each is ONE statement: atomic on its own, with no read-then-write gap between processes. The
// CHECK constraints (tickets_sold >= 0, tickets_held >= 0, sold + held <= total) back them up in the database.

export interface TicketRow {
  id: number;
  event_id: number;
  user_id: number;
  status: 'booked' | 'cancelled';
  purchase_date: Date;
  code: string;
  checked_in_at: Date | null;
}

export type TicketWithEvent = TicketRow & { event: EventRow };

export type BookingOutcome =
  | { kind: 'no-such-event' }
  | { kind: 'booked'; granted: number; event: EventRow; tickets: TicketRow[] };

/**
 * Books up to `buyers.length` seats of one event in one statement, in arrival order: buyer i gets a seat
 * when i < granted, where granted = min(buyers, seats left); the rest are sold out.
 *
 * Safe under any concurrency: `FOR UPDATE` takes the event's row lock (waiting for any other batch, cancel or
 * capacity change on that event to commit, then re-reading the newest row), so `granted` is computed from
 * the current count, and the UPDATE and INSERT of the same statement apply it while the lock is held.
 * The counter is written once per batch, never once per ticket.
 */
export async function bookSeats(database: Database, eventId: number, buyers: number[]): Promise<BookingOutcome> {
  const rows = await database.prepared<
    EventRow & {
      granted: number;
      ticket_id: number | null;
      user_id: number | null;
      status: 'booked' | null;
      purchase_date: Date | null;
      code: string | null;
    }
  >('book_seats', BOOK_SEATS_SQL, [eventId, buyers.length, toIntArray(buyers)]);
  const first = rows[0];
  if (!first) return { kind: 'no-such-event' };
  if (first.granted <= 0 || first.ticket_id === null) {
    return { kind: 'booked', granted: 0, event: first, tickets: [] };
  }
  const event: EventRow = pickEvent(first);
  const tickets = rows.map((row) => ({
    id: row.ticket_id!,
    event_id: event.id,
    user_id: row.user_id!,
    status: row.status!,
    purchase_date: row.purchase_date!,
    code: row.code!,
    checked_in_at: null,
  }));
  return { kind: 'booked', granted: first.granted, event, tickets };
}

// $1 event id, $2 number of buyers, $3 their user ids in arrival order. Prepared once per connection.
const BOOK_SEATS_SQL = /* sql */ `
  WITH ev AS (
    SELECT id, LEAST($2::int, total_tickets - tickets_sold - tickets_held) AS granted
    FROM events WHERE id = $1 FOR UPDATE
  ), taken AS (
    UPDATE events e SET tickets_sold = e.tickets_sold + ev.granted
    FROM ev WHERE e.id = ev.id AND ev.granted > 0
    RETURNING ${EVENT_COLUMN_LIST}
  ), issued AS (
    INSERT INTO tickets (event_id, user_id, status)
    SELECT taken.id, buyer.user_id, 'booked'
    FROM taken, ev, unnest($3::int[]) WITH ORDINALITY AS buyer(user_id, ord)
    WHERE buyer.ord <= ev.granted
    RETURNING id, user_id, status, purchase_date, code
  )
  SELECT ev.granted, taken.*, issued.id AS ticket_id, issued.user_id, issued.status, issued.purchase_date, issued.code
  FROM ev LEFT JOIN taken ON true LEFT JOIN issued ON true`;

/**
 * Cancels one booked ticket of `userId` and returns its seat, or null when no such booked ticket exists.
 * Exactly once: the UPDATE locks the ticket row, so a concurrent cancel re-checks `status = 'booked'` after
 * this one commits, finds it false and releases nothing.
 */
export async function cancelTicket(db: Db, ticketId: number, userId: number): Promise<TicketWithEvent | null> {
  const rows = await queryRows<
    EventRow & { ticket_id: number; user_id: number; status: 'cancelled'; purchase_date: Date; code: string; checked_in_at: Date | null }
  >(
    db,
    sql`WITH cancelled AS (
          UPDATE tickets SET status = 'cancelled'
          WHERE id = ${ticketId} AND user_id = ${userId} AND status = 'booked'
          RETURNING id, event_id, user_id, status, purchase_date, code, checked_in_at
        ), released AS (
          UPDATE events e SET tickets_sold = e.tickets_sold - 1
          FROM cancelled WHERE e.id = cancelled.event_id
          RETURNING ${EVENT_COLUMNS}
        )
        SELECT released.*, cancelled.id AS ticket_id, cancelled.user_id, cancelled.status, cancelled.purchase_date,
               cancelled.code, cancelled.checked_in_at
        FROM cancelled JOIN released ON released.id = cancelled.event_id`,
  );
  const row = rows[0];
  if (!row) return null;
  const event = pickEvent(row);
  return {
    id: row.ticket_id,
    event_id: event.id,
    user_id: row.user_id,
    status: row.status,
    purchase_date: row.purchase_date,
    code: row.code,
    checked_in_at: row.checked_in_at,
    event,
  };
}

/**
 * Applies an owner's edit. A new capacity is accepted only if it is not below the seats sold and held; the
 * UPDATE re-checks that on the newest row version under its row lock, so a capacity cut racing with
 * bookings can never leave tickets_sold > total_tickets. Null when no row matched.
 */
export async function updateEvent(db: Db, eventId: number, ownerId: number, values: EventValues): Promise<EventRow | null> {
  const rows = await queryRows<EventRow>(
    db,
    sql`UPDATE events e SET
          event_name = COALESCE(${values.eventName ?? null}::varchar, e.event_name),
          date = COALESCE(${values.date?.toISOString() ?? null}::timestamptz, e.date),
          ticket_price = COALESCE(${values.ticketPrice ?? null}::numeric, e.ticket_price),
          total_tickets = COALESCE(${values.totalTickets ?? null}::int, e.total_tickets)
        WHERE e.id = ${eventId} AND e.owner_id = ${ownerId}
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
export async function deleteUnsoldEvent(db: Db, eventId: number, ownerId: number): Promise<boolean> {
  const rows = await queryRows<{ id: number }>(
    db,
    sql`DELETE FROM events WHERE id = ${eventId} AND owner_id = ${ownerId} AND tickets_sold = 0 RETURNING id`,
  );
  return rows.length > 0;
}

function pickEvent(row: EventRow): EventRow {
  const { id, event_name, date, ticket_price, total_tickets, tickets_sold, tickets_held, max_per_order, max_per_user, hold_minutes, owner_id } = row;
  return { id, event_name, date, ticket_price, total_tickets, tickets_sold, tickets_held, max_per_order, max_per_user, hold_minutes, owner_id };
}

// A Postgres array literal: bound as one text parameter whatever the batch size.
function toIntArray(values: number[]): string {
  return `{${values.join(',')}}`;
}
