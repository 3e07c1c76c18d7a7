import { sql } from 'drizzle-orm';

// SQL pieces shared by the statement families of this folder.

// Expires the overdue holds of the event locked in CTE `ev`, returning them whole (quantity for the seats, the
// rest for their order.expired webhooks: expiredHoldsWebhooks in src/webhooks/splices.ts). Runs after `ev` took
// the row lock (it reads `ev`); an order confirmed or cancelled meanwhile is re-checked on its newest row
// version (status = 'pending' fails) and skipped. `event_id + 0` steers the planner to the partial index
// orders_pending_expiry_idx (only overdue holds, few since the sweeper runs) rather than all holds of the event.
export const EXPIRE_OVERDUE_HOLDS_OF_EV = /* sql */ `UPDATE orders o SET status = 'expired'
    FROM ev WHERE o.status = 'pending' AND o.expires_at <= now() AND o.event_id + 0 = ev.id
    RETURNING o.*`;

// The event of order $1 of user $2, row-locked before the order itself (INVARIANTS.md: the lock order), with the
// counters of the locked row version to write from.
export const lockEventOfOrder = (orderId: number, userId: number) =>
  sql`SELECT e.id, e.total_tickets, e.tickets_sold, e.tickets_held FROM events e JOIN orders o ON o.event_id = e.id
      WHERE o.id = ${orderId} AND o.user_id = ${userId} FOR UPDATE OF e`;

// A Postgres array literal: bound as one text parameter whatever the batch size.
export function toIntArray(values: number[]): string {
  return `{${values.join(',')}}`;
}

// Each element quoted, with `\` and `"` escaped: keys may hold commas, braces, quotes or the word NULL.
export function toTextArray(values: string[]): string {
  return `{${values.map((value) => `"${value.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}
