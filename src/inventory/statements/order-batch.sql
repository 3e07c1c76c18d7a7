-- order-batch.sql: rendered by `npm run statements` from the code beside this folder; do not edit.
-- $n are the statement's parameters.

WITH RECURSIVE req AS (
  SELECT r.user_id, r.quantity, r.hold, r.arrival AS ord, r.arrival
  FROM unnest($2::int[], $3::int[], $4::bool[]) WITH ORDINALITY AS r(user_id, quantity, hold, arrival)
), ev AS (
  SELECT id, total_tickets, tickets_sold, tickets_held, waiting, max_per_order, max_per_user, ticket_price, hold_minutes
  FROM events WHERE id = $1 FOR UPDATE
), expired AS (
  UPDATE orders o SET status = 'expired'
  FROM ev WHERE o.status = 'pending' AND o.expires_at <= now() AND o.event_id + 0 = ev.id
  RETURNING o.*
), quota AS (
  SELECT ev.*, freed.seats AS freed, ev.max_per_user IS NOT NULL AS limited, ev.max_per_user IS NOT NULL AND NOT $5::boolean AS uncounted,
         GREATEST(ev.total_tickets - ev.tickets_sold - ev.tickets_held + freed.seats - ev.waiting, 0) AS sellable
  FROM ev, (SELECT COALESCE(sum(quantity), 0)::int AS seats FROM expired) freed
), buyer AS (
  SELECT b.user_id, row_number() OVER (ORDER BY b.user_id)::int AS slot,
         CASE WHEN quota.limited AND NOT quota.uncounted THEN
           (SELECT count(*) FROM (SELECT FROM tickets t WHERE t.event_id = quota.id AND t.user_id = b.user_id AND t.status = 'booked'
                                  LIMIT quota.max_per_user) mine)::int
           + (SELECT COALESCE(sum(mine.quantity), 0) FROM (SELECT o.quantity FROM orders o
              WHERE o.event_id = quota.id AND o.user_id = b.user_id AND o.status = 'pending' AND o.expires_at > now()
              LIMIT quota.max_per_user) mine)::int
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
), ids AS (
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
  RETURNING e.id, e.event_name, e.date, e.ticket_price, e.total_tickets, e.tickets_sold, e.tickets_held, e.max_per_order, e.max_per_user, e.hold_minutes, e.currency, e.owner_id
), issued AS (
  INSERT INTO tickets (event_id, user_id, status, order_id, price)
  SELECT quota.id, ids.user_id, 'booked', ids.id, quota.ticket_price
  FROM ids, quota, generate_series(1, ids.quantity) WHERE NOT ids.hold
  RETURNING *
), wh_expired_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, counted wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'order.expired' = ANY (w.events)
), wh_expired AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_expired_to.id, 'order.expired', (SELECT id FROM counted), json_build_object('id', o.id, 'event_id', o.event_id, 'user_id', o.user_id, 'status', o.status,
  'quantity', o.quantity, 'tickets', '[]'::json, 'total_price', o.total_price::text,
  'created_at', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'expires_at', CASE WHEN o.status = 'pending' THEN to_char(o.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END, 'event', json_build_object('id', counted.id, 'event_name', counted.event_name, 'date', to_char(counted.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', counted.ticket_price::text, 'total_tickets', counted.total_tickets, 'tickets_sold', counted.tickets_sold,
  'tickets_available', counted.total_tickets - counted.tickets_sold - counted.tickets_held, 'max_per_order', counted.max_per_order,
  'max_per_user', counted.max_per_user, 'hold_minutes', counted.hold_minutes, 'currency', counted.currency))
  FROM wh_expired_to, expired o, counted
  ORDER BY wh_expired_to.id, o.id
  RETURNING id
), wh_order_created_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, counted wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'order.created' = ANY (w.events)
), wh_order_created AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_order_created_to.id, 'order.created', (SELECT id FROM counted), json_build_object('id', o.id, 'event_id', o.event_id, 'user_id', o.user_id, 'status', o.status,
  'quantity', o.quantity, 'tickets', '[]'::json, 'total_price', o.total_price::text,
  'created_at', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'expires_at', CASE WHEN o.status = 'pending' THEN to_char(o.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END, 'event', json_build_object('id', counted.id, 'event_name', counted.event_name, 'date', to_char(counted.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', counted.ticket_price::text, 'total_tickets', counted.total_tickets, 'tickets_sold', counted.tickets_sold,
  'tickets_available', counted.total_tickets - counted.tickets_sold - counted.tickets_held, 'max_per_order', counted.max_per_order,
  'max_per_user', counted.max_per_user, 'hold_minutes', counted.hold_minutes, 'currency', counted.currency))
  FROM wh_order_created_to, placed o, counted, (SELECT count(*) FROM wh_expired) wh_expired_first
  WHERE o.status = 'pending'
  ORDER BY wh_order_created_to.id, o.id
  RETURNING id
),
wh_order_confirmed_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, counted wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'order.confirmed' = ANY (w.events)
), wh_order_confirmed AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_order_confirmed_to.id, 'order.confirmed', (SELECT id FROM counted), json_build_object('id', o.id, 'event_id', o.event_id, 'user_id', o.user_id, 'status', o.status,
  'quantity', o.quantity, 'tickets', COALESCE((SELECT json_agg(json_build_object('id', ot.id, 'event_id', ot.event_id, 'user_id', ot.user_id, 'status', ot.status,
  'purchase_date', to_char(ot.purchase_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'code', ot.code, 'checked_in_at', to_char(ot.checked_in_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'event', json_build_object('id', counted.id, 'event_name', counted.event_name, 'date', to_char(counted.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', counted.ticket_price::text, 'total_tickets', counted.total_tickets, 'tickets_sold', counted.tickets_sold,
  'tickets_available', counted.total_tickets - counted.tickets_sold - counted.tickets_held, 'max_per_order', counted.max_per_order,
  'max_per_user', counted.max_per_user, 'hold_minutes', counted.hold_minutes, 'currency', counted.currency)) ORDER BY ot.id) FROM issued ot WHERE ot.order_id = o.id), '[]'::json), 'total_price', o.total_price::text,
  'created_at', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'expires_at', CASE WHEN o.status = 'pending' THEN to_char(o.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END, 'event', json_build_object('id', counted.id, 'event_name', counted.event_name, 'date', to_char(counted.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', counted.ticket_price::text, 'total_tickets', counted.total_tickets, 'tickets_sold', counted.tickets_sold,
  'tickets_available', counted.total_tickets - counted.tickets_sold - counted.tickets_held, 'max_per_order', counted.max_per_order,
  'max_per_user', counted.max_per_user, 'hold_minutes', counted.hold_minutes, 'currency', counted.currency))
  FROM wh_order_confirmed_to, placed o, counted, (SELECT count(*) FROM wh_expired) wh_expired_first, (SELECT count(*) FROM wh_order_created) wh_order_created_first
  WHERE o.status = 'confirmed'
  ORDER BY wh_order_confirmed_to.id, o.id
  RETURNING id
),
wh_order_booked_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, counted wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'ticket.booked' = ANY (w.events)
), wh_order_booked AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_order_booked_to.id, 'ticket.booked', (SELECT id FROM counted), json_build_object('id', t.id, 'event_id', t.event_id, 'user_id', t.user_id, 'status', t.status,
  'purchase_date', to_char(t.purchase_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'code', t.code, 'checked_in_at', to_char(t.checked_in_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'event', json_build_object('id', counted.id, 'event_name', counted.event_name, 'date', to_char(counted.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', counted.ticket_price::text, 'total_tickets', counted.total_tickets, 'tickets_sold', counted.tickets_sold,
  'tickets_available', counted.total_tickets - counted.tickets_sold - counted.tickets_held, 'max_per_order', counted.max_per_order,
  'max_per_user', counted.max_per_user, 'hold_minutes', counted.hold_minutes, 'currency', counted.currency))
  FROM wh_order_booked_to, issued t, counted, (SELECT count(*) FROM wh_expired) wh_expired_first, (SELECT count(*) FROM wh_order_created) wh_order_created_first, (SELECT count(*) FROM wh_order_confirmed) wh_order_confirmed_first
  ORDER BY wh_order_booked_to.id, t.id
  RETURNING id
),
wh_sold_out_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, counted wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'event.sold_out' = ANY (w.events)
), wh_sold_out AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_sold_out_to.id, 'event.sold_out', (SELECT id FROM counted), json_build_object('id', counted.id, 'event_name', counted.event_name, 'date', to_char(counted.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', counted.ticket_price::text, 'total_tickets', counted.total_tickets, 'tickets_sold', counted.tickets_sold,
  'tickets_available', counted.total_tickets - counted.tickets_sold - counted.tickets_held, 'max_per_order', counted.max_per_order,
  'max_per_user', counted.max_per_user, 'hold_minutes', counted.hold_minutes, 'currency', counted.currency)
  FROM wh_sold_out_to, counted, (SELECT count(*) FROM wh_expired) wh_expired_first, (SELECT count(*) FROM wh_order_created) wh_order_created_first, (SELECT count(*) FROM wh_order_confirmed) wh_order_confirmed_first, (SELECT count(*) FROM wh_order_booked) wh_order_booked_first
  WHERE EXISTS (SELECT 1 FROM placed) AND counted.total_tickets - counted.tickets_sold - counted.tickets_held = 0
  ORDER BY wh_sold_out_to.id
  RETURNING id
)
SELECT quota.freed AS released, quota.max_per_order AS order_limit, quota.max_per_user AS user_limit, counted.*,
  (SELECT array_agg(d.arrival::int ORDER BY d.ord) FROM decided d) AS arrivals,
  (SELECT array_agg(d.verdict ORDER BY d.ord) FROM decided d) AS verdicts,
  (SELECT array_agg(d.owned ORDER BY d.ord) FROM decided d) AS owned,
  (SELECT array_agg(ids.id ORDER BY ids.ord) FROM ids) AS order_ids,
  (SELECT array_agg(ids.total_price::text ORDER BY ids.ord) FROM ids) AS total_prices,
  (SELECT max(created_at) FROM placed) AS created_at, (SELECT max(expires_at) FROM placed) AS expires_at,
  (SELECT array_agg(i.order_id ORDER BY i.id) FROM issued i) AS ticket_order_ids,
  (SELECT array_agg(i.id ORDER BY i.id) FROM issued i) AS ticket_ids,
  (SELECT array_agg(i.code ORDER BY i.id) FROM issued i) AS ticket_codes,
  (SELECT max(i.purchase_date) FROM issued i) AS purchase_date FROM quota LEFT JOIN counted ON true;
