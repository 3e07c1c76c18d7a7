import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { pickEvent } from './rows.js';
import { EVENT_COLUMNS, type EventRow, type TicketRow, type TicketWithEvent } from '../db/rows.js';

export async function findTicket(db: Db, ticketId: number): Promise<TicketRow | null> {
  const rows = await queryRows<TicketRow>(
    db,
    sql`SELECT id, event_id, user_id, status, purchase_date, code, checked_in_at FROM tickets WHERE id = ${ticketId}`,
  );
  return rows[0] ?? null;
}

type TicketEventRow = EventRow & { ticket_id: number; user_id: number; status: TicketRow['status']; purchase_date: Date; code: string; checked_in_at: Date | null };

// The ticket with its event, read in the same query.
const TICKET_WITH_EVENT = sql`SELECT ${EVENT_COLUMNS}, t.id AS ticket_id, t.user_id, t.status, t.purchase_date, t.code, t.checked_in_at
  FROM tickets t JOIN events e ON e.id = t.event_id`;

export async function findTicketWithEvent(db: Db, ticketId: number): Promise<TicketWithEvent | null> {
  const rows = await queryRows<TicketEventRow>(db, sql`${TICKET_WITH_EVENT} WHERE t.id = ${ticketId}`);
  return rows[0] ? toTicketWithEvent(rows[0]) : null;
}

/** A page of one buyer's tickets, newest first (index tickets_user_id_idx), each with its event. */
export async function listTickets(db: Db, userId: number, skip: number, limit: number): Promise<TicketWithEvent[]> {
  const rows = await queryRows<TicketEventRow>(
    db,
    sql`${TICKET_WITH_EVENT} WHERE t.user_id = ${userId} ORDER BY t.id DESC OFFSET ${skip} LIMIT ${limit}`,
  );
  return rows.map(toTicketWithEvent);
}

function toTicketWithEvent(row: TicketEventRow): TicketWithEvent {
  const { ticket_id, user_id, status, purchase_date, code, checked_in_at } = row;
  return { id: ticket_id, event_id: row.id, user_id, status, purchase_date, code, checked_in_at, event: pickEvent(row) };
}

export async function findEvent(db: Db, id: number): Promise<EventRow | null> {
  const rows = await queryRows<EventRow>(db, sql`SELECT ${EVENT_COLUMNS} FROM events e WHERE e.id = ${id}`);
  return rows[0] ?? null;
}

/**
 * Events with free seats and someone in line: normally none for long (promotion follows every return of
 * seats), but a failed promotion or a seat freed by a path that does not trigger one is caught up here.
 */
export async function findEventsOwingPromotion(db: Db, limit: number): Promise<number[]> {
  const rows = await queryRows<{ id: number }>(
    db,
    // Driven by the waiting list (small: only sold-out events have one), never by a scan of all events.
    sql`SELECT e.id FROM events e
        WHERE e.id IN (SELECT DISTINCT event_id FROM waitlist) AND e.total_tickets - e.tickets_sold - e.tickets_held > 0
        LIMIT ${limit}`,
  );
  return rows.map((row) => row.id);
}
