import type { Database } from '../db/client.js';
import { EVENT_COLUMN_LIST, type OrderWithTickets } from '../db/rows.js';
import { eventJson, orderJson, readRecordedSale, rethrowKeyTaken, ticketJson, type KeyToRecord } from './idempotency-records.js';
import { toIntArray, toTextArray } from './fragments.js';
import { expiredHoldsWebhooks, holdSettledWebhooks } from '../outbox/splices.js';

// The confirm batch: POST /orders/{id}/confirm of many holds of one event in ONE statement (invariants:
// INVARIANTS.md). The hot path of a checkout flow: hold, pay, confirm.

/** One confirm of the batch: order `orderId`, asked by `userId`. */
export interface ConfirmInBatch {
  orderId: number;
  userId: number;
  /** Recorded with the confirmed order in the statement that confirms it. */
  key?: KeyToRecord | undefined;
}

export interface SettleBatchOutcome {
  /** Seats of overdue holds (other than those asked about) expired on the way. */
  released: number;
  /**
   * `settled[i]` answers confirms[i]: the order confirmed with its tickets, or expired (it was overdue: its
   * seats are back), or null when no pending order of that user matched (the caller says why).
   */
  settled: (OrderWithTickets | null)[];
}

/**
 * Confirms each pending hold asked for, or expires it if it is overdue: exactly one of the two, in one
 * statement for the whole batch. Safe under any concurrency: `FOR UPDATE` takes the event's row lock first
 * (INVARIANTS.md: event, then orders, then tickets); each UPDATE re-checks `status = 'pending'` on the order's
 * newest version, so whichever of confirm, expiry or cancel comes second finds nothing to do. An order asked
 * twice in one batch is settled for the first asker only. Counters are written wholly from the locked row.
 */
export async function settleHolds(database: Database, eventId: number, confirms: ConfirmInBatch[]): Promise<SettleBatchOutcome> {
  const values = [eventId, toIntArray(confirms.map((c) => c.orderId)), toIntArray(confirms.map((c) => c.userId))];
  const keyed: { arrival: number; key: KeyToRecord }[] = [];
  confirms.forEach((confirm, i) => confirm.key && keyed.push({ arrival: i + 1, key: confirm.key }));
  const keys = [toIntArray(keyed.map((k) => k.arrival)), toTextArray(keyed.map((k) => k.key.key)), toTextArray(keyed.map((k) => k.key.requestHash))];
  const rows = await database.prepared<{ released: number; answers: { arrival: number; response: unknown }[] | null }>('settle_batch_v1', SETTLE_BATCH_SQL, [...values, ...keys]).catch(rethrowKeyTaken);
  const settled: (OrderWithTickets | null)[] = confirms.map(() => null);
  const row = rows[0];
  if (!row) return { released: 0, settled };
  for (const { arrival, response } of row.answers ?? []) {
    const { order, event, tickets } = readRecordedSale(response);
    settled[arrival - 1] = { order: order!, event, tickets };
  }
  return { released: row.released, settled };
}

// $1 event id; $2, $3 the confirms in arrival order: order ids and the users asking; $4, $5, $6 the 1-based
// positions, keys and request hashes of the keyed ones. Overdue holds of the event not asked about are expired
// too (the asked ones are settled below: one UPDATE per row and statement). `answers` holds each settled
// order as its answer shows it, and is what a keyed confirm records: its replays are the same bytes. The
// webhooks (order.expired, order.confirmed, ticket.booked; src/outbox/splices.ts) are written by it too.
export const SETTLE_BATCH_SQL = /* sql */ `WITH req AS (
    SELECT DISTINCT ON (r.order_id, r.user_id) r.order_id, r.user_id, r.arrival
    FROM unnest($2::int[], $3::int[]) WITH ORDINALITY AS r(order_id, user_id, arrival)
    ORDER BY r.order_id, r.user_id, r.arrival
  ), ev AS (
    SELECT id, total_tickets, tickets_sold, tickets_held FROM events WHERE id = $1 FOR UPDATE
  ), expired AS (
    UPDATE orders o SET status = 'expired'
    FROM ev WHERE o.status = 'pending' AND o.expires_at <= now() AND o.event_id + 0 = ev.id AND o.id <> ALL($2::int[])
    RETURNING o.*
  ), freed AS (
    SELECT COALESCE(sum(quantity), 0)::int AS seats FROM expired
  ), settled AS (
    UPDATE orders o SET status = CASE WHEN o.expires_at > now() THEN 'confirmed' ELSE 'expired' END
    FROM ev, req WHERE o.id = req.order_id AND o.user_id = req.user_id AND o.event_id = ev.id AND o.status = 'pending'
    RETURNING o.*, req.arrival
  ), sums AS (
    SELECT count(*)::int AS orders, COALESCE(sum(quantity), 0)::int AS seats,
           COALESCE(sum(quantity) FILTER (WHERE status = 'confirmed'), 0)::int AS sold
    FROM settled
  ), moved AS (
    UPDATE events e SET total_tickets = ev.total_tickets, tickets_held = ev.tickets_held - freed.seats - sums.seats,
                        tickets_sold = ev.tickets_sold + sums.sold
    FROM ev, freed, sums WHERE e.id = ev.id AND (sums.orders > 0 OR freed.seats > 0)
    RETURNING ${EVENT_COLUMN_LIST}
  ), issued AS (
    -- Each ticket costs what the hold was priced at when it was made.
    INSERT INTO tickets (event_id, user_id, status, order_id, price)
    SELECT s.event_id, s.user_id, 'booked', s.id, round(s.total_price / s.quantity, 2)
    FROM settled s, generate_series(1, s.quantity) WHERE s.status = 'confirmed'
    RETURNING *
  ), answers AS (
    SELECT s.arrival, s.id, s.status,
           jsonb_build_object('order', ${orderJson('s')} - 'arrival', 'event', ${eventJson('moved')},
             'tickets', COALESCE((SELECT jsonb_agg(${ticketJson('i')} ORDER BY i.id) FROM issued i WHERE i.order_id = s.id), '[]'::jsonb)) AS response
    FROM settled s CROSS JOIN moved
  ), recorded AS (
    INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response, order_id)
    SELECT u.user_id, k.key, k.request_hash, 200, a.response, a.id
    FROM unnest($4::int[], $5::text[], $6::text[]) AS k(arrival, key, request_hash)
    JOIN unnest($3::int[]) WITH ORDINALITY AS u(user_id, arrival) ON u.arrival = k.arrival
    JOIN answers a ON a.arrival = k.arrival AND a.status = 'confirmed'
    RETURNING 1
  ), ${expiredHoldsWebhooks('moved')}, ${holdSettledWebhooks({ after: ['wh_expired'] })}
  SELECT freed.seats AS released, (SELECT jsonb_agg(jsonb_build_object('arrival', arrival, 'response', response)) FROM answers) AS answers
  FROM ev, freed`;
