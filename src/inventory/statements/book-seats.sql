-- book-seats.sql: rendered by `npm run statements` from the code beside this folder; do not edit.
-- $n are the statement's parameters.

WITH
ev AS (
  SELECT id, total_tickets, tickets_sold, tickets_held, total_tickets - tickets_sold - tickets_held AS free, waiting, max_per_user
  FROM events WHERE id = $1 FOR UPDATE
), expired AS (
  UPDATE orders o SET status = 'expired'
  FROM ev WHERE o.status = 'pending' AND o.expires_at <= now() AND o.event_id + 0 = ev.id
  RETURNING o.*
), quota AS (
  SELECT ev.id, ev.max_per_user AS user_limit, ev.max_per_user IS NOT NULL AND NOT false AS uncounted,
         ev.total_tickets, ev.tickets_sold, ev.tickets_held, freed.seats AS freed, sellable.seats AS sellable,
         CASE WHEN ev.max_per_user IS NOT NULL AND NOT false THEN 0 ELSE LEAST($2::int, sellable.seats) END AS granted
  FROM ev, (SELECT COALESCE(sum(quantity), 0)::int AS seats FROM expired) freed,
       LATERAL (SELECT GREATEST(ev.free + freed.seats - ev.waiting, 0) AS seats) sellable
), taken AS (
  UPDATE events e
  SET total_tickets = quota.total_tickets, tickets_sold = quota.tickets_sold + quota.granted, tickets_held = quota.tickets_held - quota.freed
  FROM quota WHERE e.id = quota.id AND (quota.granted > 0 OR quota.freed > 0)
  RETURNING e.id, e.event_name, e.date, e.ticket_price, e.total_tickets, e.tickets_sold, e.tickets_held, e.max_per_order, e.max_per_user, e.hold_minutes, e.currency, e.owner_id
), issued AS (
  INSERT INTO tickets (event_id, user_id, status, price)
  SELECT taken.id, buyer.user_id, 'booked', taken.ticket_price
  FROM taken, quota, unnest($3::int[]) WITH ORDINALITY AS buyer(user_id, ord)
  WHERE buyer.ord <= quota.granted
  RETURNING id, user_id, purchase_date, code
), issued_arrays AS (
  -- One result row per batch, not one per ticket with the event repeated: the driver parses the event and
  -- the purchase time once. Each array is ordered by ticket id, so index i of each is one ticket;
  -- purchase_date defaults to now(), the transaction's start, the same for every ticket here.
  SELECT array_agg(id ORDER BY id) AS ticket_ids, array_agg(user_id ORDER BY id) AS user_ids,
         array_agg(code ORDER BY id) AS codes, max(purchase_date) AS purchase_date
  FROM issued
), wh_expired_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, taken wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'order.expired' = ANY (w.events)
), wh_expired AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_expired_to.id, 'order.expired', (SELECT id FROM taken), json_build_object('id', o.id, 'event_id', o.event_id, 'user_id', o.user_id, 'status', o.status,
  'quantity', o.quantity, 'tickets', '[]'::json, 'total_price', o.total_price::text,
  'created_at', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'expires_at', CASE WHEN o.status = 'pending' THEN to_char(o.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END, 'event', json_build_object('id', taken.id, 'event_name', taken.event_name, 'date', to_char(taken.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', taken.ticket_price::text, 'total_tickets', taken.total_tickets, 'tickets_sold', taken.tickets_sold,
  'tickets_available', taken.total_tickets - taken.tickets_sold - taken.tickets_held, 'max_per_order', taken.max_per_order,
  'max_per_user', taken.max_per_user, 'hold_minutes', taken.hold_minutes, 'currency', taken.currency))
  FROM wh_expired_to, expired o, taken
  ORDER BY wh_expired_to.id, o.id
  RETURNING id
),
wh_taken_json AS MATERIALIZED (SELECT json_build_object('id', taken.id, 'event_name', taken.event_name, 'date', to_char(taken.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', taken.ticket_price::text, 'total_tickets', taken.total_tickets, 'tickets_sold', taken.tickets_sold,
  'tickets_available', taken.total_tickets - taken.tickets_sold - taken.tickets_held, 'max_per_order', taken.max_per_order,
  'max_per_user', taken.max_per_user, 'hold_minutes', taken.hold_minutes, 'currency', taken.currency) AS event FROM taken),
wh_booked_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, taken wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'ticket.booked' = ANY (w.events)
), wh_booked AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_booked_to.id, 'ticket.booked', (SELECT id FROM taken), json_build_object('id', t.id, 'event_id', t.event_id, 'user_id', t.user_id, 'status', t.status,
  'purchase_date', to_char(t.purchase_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'code', t.code, 'checked_in_at', to_char(t.checked_in_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'event', wh_taken_json.event)
  FROM wh_booked_to, taken, wh_taken_json, issued, LATERAL (SELECT issued.id, taken.id AS event_id, issued.user_id, 'booked'::text AS status,
    issued.purchase_date, issued.code, NULL::timestamptz AS checked_in_at) t, (SELECT count(*) FROM wh_expired) wh_expired_first
  ORDER BY wh_booked_to.id, t.id
  RETURNING id
),
wh_sold_out_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, taken wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'event.sold_out' = ANY (w.events)
), wh_sold_out AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_sold_out_to.id, 'event.sold_out', (SELECT id FROM taken), json_build_object('id', taken.id, 'event_name', taken.event_name, 'date', to_char(taken.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', taken.ticket_price::text, 'total_tickets', taken.total_tickets, 'tickets_sold', taken.tickets_sold,
  'tickets_available', taken.total_tickets - taken.tickets_sold - taken.tickets_held, 'max_per_order', taken.max_per_order,
  'max_per_user', taken.max_per_user, 'hold_minutes', taken.hold_minutes, 'currency', taken.currency)
  FROM wh_sold_out_to, taken, quota, (SELECT count(*) FROM wh_expired) wh_expired_first, (SELECT count(*) FROM wh_booked) wh_booked_first
  WHERE quota.granted > 0 AND taken.total_tickets - taken.tickets_sold - taken.tickets_held = 0
  ORDER BY wh_sold_out_to.id
  RETURNING id
)
SELECT quota.granted, quota.freed AS released, quota.uncounted, quota.user_limit, taken.*, issued_arrays.* FROM quota LEFT JOIN taken ON true CROSS JOIN issued_arrays;
