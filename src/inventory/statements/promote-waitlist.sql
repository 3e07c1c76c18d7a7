-- promote-waitlist.sql: rendered by `npm run statements` from the code beside this folder; do not edit.
-- $n are the statement's parameters.

WITH ev AS (
        SELECT e.id, e.ticket_price, e.hold_minutes, e.total_tickets, e.tickets_sold, e.tickets_held, e.waiting,
               e.total_tickets - e.tickets_sold - e.tickets_held AS free
        FROM events e WHERE e.id = $1 FOR UPDATE
      ), expired AS (
        UPDATE orders o SET status = 'expired'
  FROM ev WHERE o.status = 'pending' AND o.expires_at <= now() AND o.event_id + 0 = ev.id
  RETURNING o.*
      ), freed AS (
        SELECT COALESCE(sum(quantity), 0)::int AS seats FROM expired
      ), chosen AS (
        SELECT w.id FROM waitlist w WHERE w.event_id = $2 ORDER BY w.id
        LIMIT (SELECT COALESCE(GREATEST(ev.free + freed.seats, 0), 0) FROM ev, freed)
        FOR UPDATE
      ), promoted AS (
        DELETE FROM waitlist w USING chosen WHERE w.id = chosen.id RETURNING w.id, w.user_id
      ), held AS (
        INSERT INTO orders (event_id, user_id, status, quantity, total_price, expires_at, from_waitlist)
        SELECT ev.id, p.user_id, 'pending', 1, ev.ticket_price, now() + ev.hold_minutes * interval '1 minute', true
        FROM ev, promoted p ORDER BY p.id
        RETURNING *
      ), counted AS (
        UPDATE events e SET total_tickets = ev.total_tickets, tickets_sold = ev.tickets_sold,
                            tickets_held = ev.tickets_held - freed.seats + (SELECT count(*) FROM held)::int,
                            waiting = ev.waiting - (SELECT count(*) FROM held)::int
        FROM ev, freed WHERE e.id = ev.id AND (freed.seats > 0 OR EXISTS (SELECT 1 FROM held))
        RETURNING e.id, e.event_name, e.date, e.ticket_price, e.total_tickets, e.tickets_sold, e.tickets_held, e.max_per_order, e.max_per_user, e.hold_minutes, e.currency, e.owner_id
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
),
wh_offered_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, counted wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'waitlist.offered' = ANY (w.events)
), wh_offered AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_offered_to.id, 'waitlist.offered', (SELECT id FROM counted), json_build_object('id', o.id, 'event_id', o.event_id, 'user_id', o.user_id, 'status', o.status,
  'quantity', o.quantity, 'tickets', '[]'::json, 'total_price', o.total_price::text,
  'created_at', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'expires_at', CASE WHEN o.status = 'pending' THEN to_char(o.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END, 'event', json_build_object('id', counted.id, 'event_name', counted.event_name, 'date', to_char(counted.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', counted.ticket_price::text, 'total_tickets', counted.total_tickets, 'tickets_sold', counted.tickets_sold,
  'tickets_available', counted.total_tickets - counted.tickets_sold - counted.tickets_held, 'max_per_order', counted.max_per_order,
  'max_per_user', counted.max_per_user, 'hold_minutes', counted.hold_minutes, 'currency', counted.currency))
  FROM wh_offered_to, held o, counted, (SELECT count(*) FROM wh_expired) wh_expired_first
  ORDER BY wh_offered_to.id, o.id
  RETURNING id
)
      SELECT freed.seats AS released, held.id AS order_id, held.user_id FROM freed LEFT JOIN held ON true ORDER BY held.id;
