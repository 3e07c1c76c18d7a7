import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import type { EventOut } from './schemas.js';
import type { EventValues } from './values.js';

export interface EventRow {
  id: number;
  event_name: string;
  date: Date;
  ticket_price: string;
  total_tickets: number;
  tickets_sold: number;
  tickets_held: number;
  max_per_order: number;
  max_per_user: number | null;
  hold_minutes: number;
  owner_id: number | null;
}

export const EVENT_COLUMN_LIST =
  'e.id, e.event_name, e.date, e.ticket_price, e.total_tickets, e.tickets_sold, e.tickets_held, e.max_per_order, e.max_per_user, e.hold_minutes, e.owner_id';
export const EVENT_COLUMNS = sql.raw(EVENT_COLUMN_LIST);

export function toEventOut(row: EventRow): EventOut {
  return {
    id: row.id,
    event_name: row.event_name,
    date: new Date(row.date).toISOString(),
    ticket_price: row.ticket_price,
    total_tickets: row.total_tickets,
    tickets_sold: row.tickets_sold,
    tickets_available: row.total_tickets - row.tickets_sold - row.tickets_held,
  };
}

export async function insertEvent(db: Db, values: Required<EventValues>, ownerId: number): Promise<EventRow> {
  const rows = await queryRows<EventRow>(
    db,
    sql`INSERT INTO events AS e (event_name, date, ticket_price, total_tickets, owner_id)
        VALUES (${values.eventName}, ${values.date.toISOString()}, ${values.ticketPrice}, ${values.totalTickets}, ${ownerId})
        RETURNING ${EVENT_COLUMNS}`,
  );
  return rows[0]!;
}

export function listEvents(db: Db, skip: number, limit: number): Promise<EventRow[]> {
  return queryRows<EventRow>(
    db,
    sql`SELECT ${EVENT_COLUMNS} FROM events e ORDER BY e.date, e.id OFFSET ${skip} LIMIT ${limit}`,
  );
}

export async function findEvent(db: Db, id: number): Promise<EventRow | null> {
  const rows = await queryRows<EventRow>(db, sql`SELECT ${EVENT_COLUMNS} FROM events e WHERE e.id = ${id}`);
  return rows[0] ?? null;
}
