import { sql } from 'drizzle-orm';
import type { TicketRow } from '../bookings/inventory.js';
import { queryRows, type Db } from '../db/client.js';

const TICKET_COLUMNS = sql.raw('id, event_id, user_id, status, purchase_date, code, checked_in_at');

/**
 * Admits a booked ticket of this event once; null when nothing matched (see findTicketByCode for why).
 * Safe with ten doors scanning one code at once: the UPDATE takes the ticket's row lock, and every other
 * scan re-checks `checked_in_at IS NULL` on the committed row after it, finds it false, and admits nothing.
 */
export async function admitTicket(db: Db, eventId: number, code: string): Promise<TicketRow | null> {
  const rows = await queryRows<TicketRow>(
    db,
    sql`UPDATE tickets SET checked_in_at = now()
        WHERE code = ${code} AND event_id = ${eventId} AND status = 'booked' AND checked_in_at IS NULL
        RETURNING ${TICKET_COLUMNS}`,
  );
  return rows[0] ?? null;
}

export async function findTicketByCode(db: Db, code: string): Promise<TicketRow | null> {
  const rows = await queryRows<TicketRow>(db, sql`SELECT ${TICKET_COLUMNS} FROM tickets WHERE code = ${code}`);
  return rows[0] ?? null;
}
