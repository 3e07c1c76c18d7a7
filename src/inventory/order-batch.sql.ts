import { EVENT_COLUMN_LIST } from '../db/rows.js';
import { eventJson, orderJson, ticketJson } from './idempotency-records.js';
import { buyerSeatsSql, EXPIRE_OVERDUE_HOLDS_OF_EV } from './fragments.js';
import { expiredHoldsWebhooks, orderPlacedWebhooks } from '../outbox/splices.js';

// The SQL of the order batch (order-batch.ts runs it). Parameters: $1 event id; $2, $3, $4 the orders in
// arrival order: user ids, quantities, hold flags; $5 true when the statement runs after its transaction took
// the event's row lock (only then may it count a buyer's seats, see order-batch.ts). The keyed variant adds
// $6 the 1-based positions of the orders that sent an Idempotency-Key, $7 their keys, $8 their request hashes.

// `req`: the orders that take part, numbered 1.. (ord) in arrival order; `arrival` is their place in the batch.
const PLAIN_REQ = /* sql */ `req AS (
    SELECT r.user_id, r.quantity, r.hold, r.arrival AS ord, r.arrival
    FROM unnest($2::int[], $3::int[], $4::bool[]) WITH ORDINALITY AS r(user_id, quantity, hold, arrival)
  )`;

// A keyed order whose key already has a row (a retry) takes no part: listed in recorded_before, it replays.
// A key recorded by another process after this statement's snapshot is a unique violation: nothing is sold.
const KEYED_REQ = /* sql */ `keyed AS (
    SELECT k.ord AS arrival, b.user_id, k.key, k.request_hash
    FROM unnest($6::int[], $7::text[], $8::text[]) AS k(ord, key, request_hash)
    JOIN unnest($2::int[]) WITH ORDINALITY AS b(user_id, ord) ON b.ord = k.ord
  ), recorded_before AS (
    SELECT keyed.arrival FROM keyed JOIN idempotency_keys r ON r.user_id = keyed.user_id AND r.key = keyed.key
  ), req AS (
    SELECT r.user_id, r.quantity, r.hold, row_number() OVER (ORDER BY r.arrival) AS ord, r.arrival
    FROM unnest($2::int[], $3::int[], $4::bool[]) WITH ORDINALITY AS r(user_id, quantity, hold, arrival)
    WHERE r.arrival NOT IN (SELECT arrival FROM recorded_before)
  )`;

// Everything is read from the locked row `ev` and written wholly from it (INVARIANTS.md, rules 3 and 4):
// sellable = free seats (overdue holds counted back) minus the people in line. `walk` decides the orders one
// by one in arrival order, carrying the seats left and each buyer's seats (taken[slot]): an order that does
// not fit is refused whole and the next one is tried with the same seats. A buyer's seats before the batch:
// buyerSeatsSql (fragments.ts), exact below the limit and at least the limit at or above it, so every
// decision is the same as with a full count.
const DECIDE = /* sql */ `ev AS (
    SELECT id, total_tickets, tickets_sold, tickets_held, waiting, max_per_order, max_per_user, ticket_price, hold_minutes
    FROM events WHERE id = $1 FOR UPDATE
  ), expired AS (
    ${EXPIRE_OVERDUE_HOLDS_OF_EV}
  ), quota AS (
    SELECT ev.*, freed.seats AS freed, ev.max_per_user IS NOT NULL AS limited, ev.max_per_user IS NOT NULL AND NOT $5::boolean AS uncounted,
           GREATEST(ev.total_tickets - ev.tickets_sold - ev.tickets_held + freed.seats - ev.waiting, 0) AS sellable
    FROM ev, (SELECT COALESCE(sum(quantity), 0)::int AS seats FROM expired) freed
  ), buyer AS (
    SELECT b.user_id, row_number() OVER (ORDER BY b.user_id)::int AS slot,
           CASE WHEN quota.limited AND NOT quota.uncounted THEN
             ${buyerSeatsSql('quota.id', 'b.user_id', 'quota.max_per_user')}
           ELSE 0 END AS owned
    FROM (SELECT DISTINCT user_id FROM req) b, quota
  ), lined AS MATERIALIZED (
    -- The orders as arrays indexed by ord (1..n, no gaps): each step of the walk reads its order by subscript.
    -- A join there was built again at every step, batch size squared.
    SELECT array_agg(r.quantity ORDER BY r.ord) AS quantity, array_agg(b.slot ORDER BY r.ord) AS slot, count(*) AS n
    FROM req r JOIN buyer b ON b.user_id = r.user_id
  ), walk AS (
    SELECT 0::bigint AS ord, quota.sellable AS remaining, COALESCE((SELECT array_agg(owned ORDER BY slot) FROM buyer), '{}') AS taken,
           NULL::text AS verdict, 0 AS owned
    FROM quota
    UNION ALL
    SELECT w.ord + 1, w.remaining - CASE WHEN v.verdict = 'placed' THEN o.quantity ELSE 0 END,
           CASE WHEN v.verdict = 'placed' THEN w.taken[:o.slot - 1] || (w.taken[o.slot] + o.quantity) || w.taken[o.slot + 1:] ELSE w.taken END,
           v.verdict, w.taken[o.slot]
    FROM walk w CROSS JOIN lined CROSS JOIN quota
    CROSS JOIN LATERAL (SELECT lined.quantity[(w.ord + 1)::int] AS quantity, lined.slot[(w.ord + 1)::int] AS slot) o
    CROSS JOIN LATERAL (
      SELECT CASE WHEN quota.uncounted THEN 'per-user-limit'
                  WHEN o.quantity > quota.max_per_order THEN 'over-order-limit'
                  WHEN o.quantity > w.remaining THEN 'sold-out'
                  WHEN quota.limited AND w.taken[o.slot] + o.quantity > quota.max_per_user THEN 'over-user-limit'
                  ELSE 'placed' END AS verdict
    ) v
    WHERE w.ord < lined.n
  ), decided AS (
    SELECT w.ord, w.verdict, w.owned, r.arrival, r.user_id, r.quantity, r.hold FROM walk w JOIN req r ON r.ord = w.ord
  )`;

// Ids drawn first (a volatile CTE runs once), so each placed order is known by its arrival without relying on
// the order an INSERT assigns ids in, with each order's total (quantity x the price at the sale), computed once
// for the row and the answer. Holds are pending until now() + hold_minutes; each ticket costs the price at the sale.
const SELL = /* sql */ `ids AS (
    SELECT d.*, nextval('orders_id_seq'::regclass)::int AS id, (quota.ticket_price * d.quantity)::numeric(12, 2) AS total_price
    FROM decided d, quota WHERE d.verdict = 'placed'
  ), placed AS (
    INSERT INTO orders (id, event_id, user_id, status, quantity, total_price, expires_at)
    SELECT ids.id, quota.id, ids.user_id, CASE WHEN ids.hold THEN 'pending' ELSE 'confirmed' END, ids.quantity,
           ids.total_price, CASE WHEN ids.hold THEN now() + quota.hold_minutes * interval '1 minute' END
    FROM ids, quota
    RETURNING *
  ), totals AS (
    SELECT COALESCE(sum(quantity) FILTER (WHERE NOT hold), 0)::int AS sold, COALESCE(sum(quantity) FILTER (WHERE hold), 0)::int AS held,
           count(*)::int AS orders
    FROM ids
  ), counted AS (
    UPDATE events e
    SET total_tickets = quota.total_tickets, tickets_sold = quota.tickets_sold + totals.sold,
        tickets_held = quota.tickets_held - quota.freed + totals.held
    FROM quota, totals WHERE e.id = quota.id AND (quota.freed > 0 OR totals.orders > 0)
    RETURNING ${EVENT_COLUMN_LIST}
  ), issued AS (
    INSERT INTO tickets (event_id, user_id, status, order_id, price)
    SELECT quota.id, ids.user_id, 'booked', ids.id, quota.ticket_price
    FROM ids, quota, generate_series(1, ids.quantity) WHERE NOT ids.hold
    RETURNING *
  )`;

// One result row per batch: the event after it once, and arrays indexed by arrival (verdicts, the buyer's seats
// before the order, order ids, prices) or by ticket (ordered by id). Order ids and prices come from `ids`, each
// of whose rows `placed` inserts, not from joining `placed`: the planner expects one row from a CTE and joined
// it in a nested loop, batch size squared. Every order and ticket of the batch was made at now(), the
// transaction's start, and every hold ends at the same time: one value each.
const RESULT_COLUMNS = /* sql */ `quota.freed AS released, quota.max_per_order AS order_limit, quota.max_per_user AS user_limit, counted.*,
    (SELECT array_agg(d.arrival::int ORDER BY d.ord) FROM decided d) AS arrivals,
    (SELECT array_agg(d.verdict ORDER BY d.ord) FROM decided d) AS verdicts,
    (SELECT array_agg(d.owned ORDER BY d.ord) FROM decided d) AS owned,
    (SELECT array_agg(ids.id ORDER BY ids.ord) FROM ids) AS order_ids,
    (SELECT array_agg(ids.total_price::text ORDER BY ids.ord) FROM ids) AS total_prices,
    (SELECT max(created_at) FROM placed) AS created_at, (SELECT max(expires_at) FROM placed) AS expires_at,
    (SELECT array_agg(i.order_id ORDER BY i.id) FROM issued i) AS ticket_order_ids,
    (SELECT array_agg(i.id ORDER BY i.id) FROM issued i) AS ticket_ids,
    (SELECT array_agg(i.code ORDER BY i.id) FROM issued i) AS ticket_codes,
    (SELECT max(i.purchase_date) FROM issued i) AS purchase_date`;

// The key row of each keyed order that was placed, written in this statement (idempotency-records.ts): the
// order, the event after the batch and the order's tickets, as the answer and every replay show them.
const RECORD = /* sql */ `recorded AS (
    INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response, order_id)
    SELECT k.user_id, k.key, k.request_hash, 200,
           jsonb_build_object('order', ${orderJson('p')}, 'event', ${eventJson('counted')},
             'tickets', COALESCE((SELECT jsonb_agg(${ticketJson('i')} ORDER BY i.id) FROM issued i WHERE i.order_id = p.id), '[]'::jsonb)),
           p.id
    FROM keyed k JOIN ids ON ids.arrival = k.arrival JOIN placed p ON p.id = ids.id CROSS JOIN counted
    RETURNING key, response, order_id
  )`;

// The webhooks, written by the statement that makes the change (src/outbox/splices.ts): order.expired for
// holds expired on the way, then order.created (holds) / order.confirmed, ticket.booked, event.sold_out.
const WEBHOOKS = `${expiredHoldsWebhooks('counted')}, ${orderPlacedWebhooks({ after: ['wh_expired'] })}`;

export const ORDER_BATCH_SQL = `WITH RECURSIVE ${PLAIN_REQ}, ${DECIDE}, ${SELL}, ${WEBHOOKS}
  SELECT ${RESULT_COLUMNS} FROM quota LEFT JOIN counted ON true`;

export const ORDER_BATCH_KEYED_SQL = `WITH RECURSIVE ${KEYED_REQ}, ${DECIDE}, ${SELL}, ${RECORD}, ${WEBHOOKS}
  SELECT ${RESULT_COLUMNS},
    (SELECT jsonb_agg(jsonb_build_object('arrival', ids.arrival, 'response', r.response)) FROM recorded r JOIN ids ON ids.id = r.order_id) AS recorded,
    (SELECT array_agg(arrival::int) FROM recorded_before) AS recorded_before
  FROM quota LEFT JOIN counted ON true`;
