import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { EVENT_COLUMNS, type EventRow } from '../db/rows.js';

export interface SalesFigures {
  capacity: number;
  held: number;
  available: number;
  sold: number;
  cancelled: number;
  checked_in: number;
  /** Exact decimal string, computed in SQL numeric: what was paid for every booked ticket, summed. */
  revenue: string;
  currency: string;
}

/** Seats, ticket counts and revenue of one event, in one statement (one snapshot); null when there is no such event. */
export async function salesFigures(db: Db, eventId: number): Promise<SalesFigures | null> {
  const rows = await queryRows<SalesFigures>(
    db,
    sql`SELECT e.total_tickets AS capacity, e.tickets_held AS held,
               e.total_tickets - e.tickets_sold - e.tickets_held AS available,
               count(t.id) FILTER (WHERE t.status = 'booked')::int AS sold,
               count(t.id) FILTER (WHERE t.status = 'cancelled')::int AS cancelled,
               count(t.id) FILTER (WHERE t.checked_in_at IS NOT NULL)::int AS checked_in,
               round(COALESCE(sum(t.price) FILTER (WHERE t.status = 'booked'), 0), 2)::text AS revenue, e.currency
        FROM events e LEFT JOIN tickets t ON t.event_id = e.id
        WHERE e.id = ${eventId}
        GROUP BY e.id`,
  );
  return rows[0] ?? null;
}

export interface HourlySales {
  hour: Date;
  sold: number;
}

/** Tickets still booked, by the UTC hour they were bought, oldest first; hours with none are left out. */
export function salesPerHour(db: Db, eventId: number): Promise<HourlySales[]> {
  return queryRows<HourlySales>(
    db,
    sql`SELECT date_trunc('hour', purchase_date, 'UTC') AS hour, count(*)::int AS sold
        FROM tickets WHERE event_id = ${eventId} AND status = 'booked'
        GROUP BY 1 ORDER BY 1`,
  );
}

export interface AttendeeRow {
  ticket_id: number;
  user_id: number;
  email: string;
  status: 'booked' | 'cancelled';
  purchase_date: Date;
  checked_in_at: Date | null;
  price: string;
}

/** One page of an event's tickets with their holders, in ticket order (stable across pages). */
export function listAttendees(db: Db, eventId: number, skip: number, limit: number): Promise<AttendeeRow[]> {
  return queryRows<AttendeeRow>(
    db,
    sql`SELECT t.id AS ticket_id, t.user_id, u.email, t.status, t.purchase_date, t.checked_in_at, t.price
        FROM tickets t JOIN users u ON u.id = t.user_id
        WHERE t.event_id = ${eventId}
        ORDER BY t.id OFFSET ${skip} LIMIT ${limit}`,
  );
}

/** The events a user owns, soonest first (past ones too: their sales and attendees still matter). */
export function listOwnedEvents(db: Db, ownerId: number, skip: number, limit: number): Promise<EventRow[]> {
  return queryRows<EventRow>(
    db,
    sql`SELECT ${EVENT_COLUMNS} FROM events e WHERE e.owner_id = ${ownerId} ORDER BY e.date, e.id OFFSET ${skip} LIMIT ${limit}`,
  );
}
