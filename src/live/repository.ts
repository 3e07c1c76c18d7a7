import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import type { SeatsSnapshot } from './schemas.js';

export type { SeatsSnapshot };

/** The numbers a live client sees, read by primary key; null when the event does not exist (any more). */
export async function readSeats(db: Db, eventId: number): Promise<SeatsSnapshot | null> {
  const rows = await queryRows<SeatsSnapshot>(
    db,
    sql`SELECT total_tickets - tickets_sold - tickets_held AS tickets_available, tickets_sold, total_tickets
        FROM events WHERE id = ${eventId}`,
  );
  return rows[0] ?? null;
}
