import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { outboxCtes } from '../outbox/outbox.js';
import { eventJsonSql, ticketJsonSql } from '../outbox/payload-sql.js';
import type { TicketRow } from '../db/rows.js';

const TICKET_COLUMNS = sql.raw('id, event_id, user_id, status, purchase_date, code, checked_in_at');

// The ticket.checked_in webhook of an admission, written by the admitting statement itself (outbox).
const CHECKED_IN_WEBHOOK = outboxCtes({
  name: 'wh_checked_in',
  type: 'ticket.checked_in',
  event: 'admitted_event',
  from: 'admitted, admitted_event',
  data: ticketJsonSql('admitted', eventJsonSql('admitted_event')),
});

/**
 * Admits a booked ticket of this event once; null when nothing matched (see findTicketByCode for why).
 * Safe with ten doors scanning one code at once: the UPDATE takes the ticket's row lock, and every other
 * scan re-checks `checked_in_at IS NULL` on the committed row after it, finds it false, and admits nothing.
 * Its webhook rows are part of the same statement: no admission without its webhook, and none without one.
 */
export async function admitTicket(db: Db, eventId: number, code: string): Promise<TicketRow | null> {
  const rows = await queryRows<TicketRow>(
    db,
    sql`WITH admitted AS (
          UPDATE tickets SET checked_in_at = now()
          WHERE code = ${code} AND event_id = ${eventId} AND status = 'booked' AND checked_in_at IS NULL
          RETURNING ${TICKET_COLUMNS}
        ), admitted_event AS (
          SELECT e.* FROM events e JOIN admitted ON e.id = admitted.event_id
        ), ${sql.raw(CHECKED_IN_WEBHOOK)}
        SELECT * FROM admitted`,
  );
  return rows[0] ?? null;
}

export async function findTicketByCode(db: Db, code: string): Promise<TicketRow | null> {
  const rows = await queryRows<TicketRow>(db, sql`SELECT ${TICKET_COLUMNS} FROM tickets WHERE code = ${code}`);
  return rows[0] ?? null;
}
