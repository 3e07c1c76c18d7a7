-- confirm-batch.sql: rendered by `npm run statements` from the code beside this folder; do not edit.
-- $n are the statement's parameters.

WITH req AS (
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
  RETURNING e.id, e.event_name, e.date, e.ticket_price, e.total_tickets, e.tickets_sold, e.tickets_held, e.max_per_order, e.max_per_user, e.hold_minutes, e.currency, e.owner_id
), issued AS (
  -- Each ticket costs what the hold was priced at when it was made.
  INSERT INTO tickets (event_id, user_id, status, order_id, price)
  SELECT s.event_id, s.user_id, 'booked', s.id, round(s.total_price / s.quantity, 2)
  FROM settled s, generate_series(1, s.quantity) WHERE s.status = 'confirmed'
  RETURNING *
), answers AS (
  SELECT s.arrival, s.id, s.status,
         jsonb_build_object('order', (to_jsonb(s) || jsonb_build_object('total_price', s.total_price::text)) - 'arrival', 'event', (to_jsonb(moved) || jsonb_build_object('ticket_price', moved.ticket_price::text)),
           'tickets', COALESCE((SELECT jsonb_agg((to_jsonb(i) || jsonb_build_object('price', i.price::text)) ORDER BY i.id) FROM issued i WHERE i.order_id = s.id), '[]'::jsonb)) AS response
  FROM settled s CROSS JOIN moved
), recorded AS (
  INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response, order_id)
  SELECT u.user_id, k.key, k.request_hash, 200, a.response, a.id
  FROM unnest($4::int[], $5::text[], $6::text[]) AS k(arrival, key, request_hash)
  JOIN unnest($3::int[]) WITH ORDINALITY AS u(user_id, arrival) ON u.arrival = k.arrival
  JOIN answers a ON a.arrival = k.arrival AND a.status = 'confirmed'
  RETURNING 1
), wh_expired_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, moved wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'order.expired' = ANY (w.events)
), wh_expired AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_expired_to.id, 'order.expired', (SELECT id FROM moved), json_build_object('id', o.id, 'event_id', o.event_id, 'user_id', o.user_id, 'status', o.status,
  'quantity', o.quantity, 'tickets', '[]'::json, 'total_price', o.total_price::text,
  'created_at', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'expires_at', CASE WHEN o.status = 'pending' THEN to_char(o.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END, 'event', json_build_object('id', moved.id, 'event_name', moved.event_name, 'date', to_char(moved.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', moved.ticket_price::text, 'total_tickets', moved.total_tickets, 'tickets_sold', moved.tickets_sold,
  'tickets_available', moved.total_tickets - moved.tickets_sold - moved.tickets_held, 'max_per_order', moved.max_per_order,
  'max_per_user', moved.max_per_user, 'hold_minutes', moved.hold_minutes, 'currency', moved.currency))
  FROM wh_expired_to, expired o, moved
  ORDER BY wh_expired_to.id, o.id
  RETURNING id
), wh_hold_confirmed_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, moved wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'order.confirmed' = ANY (w.events)
), wh_hold_confirmed AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_hold_confirmed_to.id, 'order.confirmed', (SELECT id FROM moved), json_build_object('id', o.id, 'event_id', o.event_id, 'user_id', o.user_id, 'status', o.status,
  'quantity', o.quantity, 'tickets', COALESCE((SELECT json_agg(json_build_object('id', ot.id, 'event_id', ot.event_id, 'user_id', ot.user_id, 'status', ot.status,
  'purchase_date', to_char(ot.purchase_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'code', ot.code, 'checked_in_at', to_char(ot.checked_in_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'event', json_build_object('id', moved.id, 'event_name', moved.event_name, 'date', to_char(moved.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', moved.ticket_price::text, 'total_tickets', moved.total_tickets, 'tickets_sold', moved.tickets_sold,
  'tickets_available', moved.total_tickets - moved.tickets_sold - moved.tickets_held, 'max_per_order', moved.max_per_order,
  'max_per_user', moved.max_per_user, 'hold_minutes', moved.hold_minutes, 'currency', moved.currency)) ORDER BY ot.id) FROM issued ot WHERE ot.order_id = o.id), '[]'::json), 'total_price', o.total_price::text,
  'created_at', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'expires_at', CASE WHEN o.status = 'pending' THEN to_char(o.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END, 'event', json_build_object('id', moved.id, 'event_name', moved.event_name, 'date', to_char(moved.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', moved.ticket_price::text, 'total_tickets', moved.total_tickets, 'tickets_sold', moved.tickets_sold,
  'tickets_available', moved.total_tickets - moved.tickets_sold - moved.tickets_held, 'max_per_order', moved.max_per_order,
  'max_per_user', moved.max_per_user, 'hold_minutes', moved.hold_minutes, 'currency', moved.currency))
  FROM wh_hold_confirmed_to, settled o, moved, (SELECT count(*) FROM wh_expired) wh_expired_first
  WHERE o.status = 'confirmed'
  ORDER BY wh_hold_confirmed_to.id, o.id
  RETURNING id
),
wh_hold_booked_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, moved wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'ticket.booked' = ANY (w.events)
), wh_hold_booked AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_hold_booked_to.id, 'ticket.booked', (SELECT id FROM moved), json_build_object('id', t.id, 'event_id', t.event_id, 'user_id', t.user_id, 'status', t.status,
  'purchase_date', to_char(t.purchase_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'code', t.code, 'checked_in_at', to_char(t.checked_in_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'event', json_build_object('id', moved.id, 'event_name', moved.event_name, 'date', to_char(moved.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', moved.ticket_price::text, 'total_tickets', moved.total_tickets, 'tickets_sold', moved.tickets_sold,
  'tickets_available', moved.total_tickets - moved.tickets_sold - moved.tickets_held, 'max_per_order', moved.max_per_order,
  'max_per_user', moved.max_per_user, 'hold_minutes', moved.hold_minutes, 'currency', moved.currency))
  FROM wh_hold_booked_to, issued t, moved, (SELECT count(*) FROM wh_expired) wh_expired_first, (SELECT count(*) FROM wh_hold_confirmed) wh_hold_confirmed_first
  ORDER BY wh_hold_booked_to.id, t.id
  RETURNING id
),
wh_hold_expired_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, moved wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'order.expired' = ANY (w.events)
), wh_hold_expired AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_hold_expired_to.id, 'order.expired', (SELECT id FROM moved), json_build_object('id', o.id, 'event_id', o.event_id, 'user_id', o.user_id, 'status', o.status,
  'quantity', o.quantity, 'tickets', '[]'::json, 'total_price', o.total_price::text,
  'created_at', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'expires_at', CASE WHEN o.status = 'pending' THEN to_char(o.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END, 'event', json_build_object('id', moved.id, 'event_name', moved.event_name, 'date', to_char(moved.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', moved.ticket_price::text, 'total_tickets', moved.total_tickets, 'tickets_sold', moved.tickets_sold,
  'tickets_available', moved.total_tickets - moved.tickets_sold - moved.tickets_held, 'max_per_order', moved.max_per_order,
  'max_per_user', moved.max_per_user, 'hold_minutes', moved.hold_minutes, 'currency', moved.currency))
  FROM wh_hold_expired_to, settled o, moved, (SELECT count(*) FROM wh_expired) wh_expired_first
  WHERE o.status = 'expired'
  ORDER BY wh_hold_expired_to.id, o.id
  RETURNING id
)
SELECT freed.seats AS released, (SELECT jsonb_agg(jsonb_build_object('arrival', arrival, 'response', response)) FROM answers) AS answers
FROM ev, freed;
