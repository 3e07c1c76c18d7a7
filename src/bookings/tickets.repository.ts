import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import type { TicketRow } from './inventory.js';

export async function findTicket(db: Db, ticketId: number): Promise<TicketRow | null> {
  const rows = await queryRows<TicketRow>(
    db,
    sql`SELECT id, event_id, user_id, status, purchase_date, code, checked_in_at FROM tickets WHERE id = ${ticketId}`,
  );
  return rows[0] ?? null;
}
