import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';

export interface InventoryDrift {
  event_id: number;
  total_tickets: number;
  tickets_sold: number;
  booked_rows: number;
  tickets_held: number;
  pending_seats: number;
  waiting: number;
  waitlist_rows: number;
}

/**
 * Every event whose counters disagree with its rows: tickets_sold vs booked tickets, tickets_held vs seats of
 * pending orders, waiting vs people in the waiting list, or sold + held above capacity. Always empty unless something bypassed src/inventory/.
 * One pass over tickets and orders, grouped, so it stays cheap enough to run on a live database.
 */
export function findInventoryDrift(db: Db): Promise<InventoryDrift[]> {
  return queryRows<InventoryDrift>(
    db,
    sql`WITH booked AS (
          SELECT event_id, count(*)::int AS n FROM tickets WHERE status = 'booked' GROUP BY event_id
        ), held AS (
          SELECT event_id, sum(quantity)::int AS n FROM orders WHERE status = 'pending' GROUP BY event_id
        ), line AS (
          SELECT event_id, count(*)::int AS n FROM waitlist GROUP BY event_id
        )
        SELECT e.id AS event_id, e.total_tickets, e.tickets_sold, COALESCE(b.n, 0) AS booked_rows,
               e.tickets_held, COALESCE(h.n, 0) AS pending_seats, e.waiting, COALESCE(l.n, 0) AS waitlist_rows
        FROM events e
        LEFT JOIN booked b ON b.event_id = e.id
        LEFT JOIN held h ON h.event_id = e.id
        LEFT JOIN line l ON l.event_id = e.id
        WHERE e.tickets_sold <> COALESCE(b.n, 0)
           OR e.tickets_held <> COALESCE(h.n, 0)
           OR e.waiting <> COALESCE(l.n, 0)
           OR e.tickets_sold + e.tickets_held > e.total_tickets
        ORDER BY e.id`,
  );
}
