import { sql } from 'drizzle-orm';

// SQL pieces shared by the statement families of this folder.

// Expires the overdue holds of the event locked in CTE `ev`, returning them whole (quantity for the seats, the
// rest for their order.expired webhooks: expiredHoldsWebhooks in src/outbox/splices.ts). Runs after `ev` took
// the row lock (it reads `ev`); an order confirmed or cancelled meanwhile is re-checked on its newest row
// version (status = 'pending' fails) and skipped. `event_id + 0` steers the planner to the partial index
// orders_pending_expiry_idx (only overdue holds, few since the sweeper runs) rather than all holds of the event.
export const EXPIRE_OVERDUE_HOLDS_OF_EV = /* sql */ `UPDATE orders o SET status = 'expired'
    FROM ev WHERE o.status = 'pending' AND o.expires_at <= now() AND o.event_id + 0 = ev.id
    RETURNING o.*`;

// A buyer's seats in an event, as max_per_user counts them: booked tickets plus holds still running (overdue
// ones are expired by the same statement, but its snapshot still shows them pending), each read at most
// `limit` rows deep through the (event, status, buyer) indexes: below the limit the count is exact, at or
// above it it is at least the limit, so the cost is bounded by the limit, not by what a buyer owns. Shared
// by the order batch and the counted booking batch, which must count alike. Arguments are SQL expressions.
export const buyerSeatsSql = (eventId: string, userId: string, limit: string) => /* sql */ `(SELECT count(*) FROM (SELECT FROM tickets t WHERE t.event_id = ${eventId} AND t.user_id = ${userId} AND t.status = 'booked'
                                    LIMIT ${limit}) mine)::int
             + (SELECT COALESCE(sum(mine.quantity), 0) FROM (SELECT o.quantity FROM orders o
                WHERE o.event_id = ${eventId} AND o.user_id = ${userId} AND o.status = 'pending' AND o.expires_at > now()
                LIMIT ${limit}) mine)::int`;

// The first statement of a counted batch's transaction (src/db/after-lock.ts sends it with the batch): the
// event's row lock, so that the batch's snapshot, taken after it, holds every seat of each buyer.
export const LOCK_EVENT = 'SELECT id FROM events WHERE id = $1 FOR UPDATE';

// The event of order $1 of user $2, row-locked before the order itself (INVARIANTS.md: the lock order), with the
// counters of the locked row version to write from.
export const lockEventOfOrder = (orderId: number, userId: number) =>
  sql`SELECT e.id, e.total_tickets, e.tickets_sold, e.tickets_held FROM events e JOIN orders o ON o.event_id = e.id
      WHERE o.id = ${orderId} AND o.user_id = ${userId} FOR UPDATE OF e`;

// A Postgres array literal: bound as one text parameter whatever the batch size.
export function toIntArray(values: number[]): string {
  return `{${values.join(',')}}`;
}

export function toBoolArray(values: boolean[]): string {
  return `{${values.map((value) => (value ? 't' : 'f')).join(',')}}`;
}

// Each element quoted, with `\` and `"` escaped: keys may hold commas, braces, quotes or the word NULL.
export function toTextArray(values: string[]): string {
  return `{${values.map((value) => `"${value.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}
