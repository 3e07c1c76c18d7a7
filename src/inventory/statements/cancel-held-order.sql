-- cancel-held-order.sql: rendered by `npm run statements` from the code beside this folder; do not edit.
-- $n are the statement's parameters.

WITH ev AS (SELECT e.id, e.total_tickets, e.tickets_sold, e.tickets_held FROM events e JOIN orders o ON o.event_id = e.id
    WHERE o.id = $1 AND o.user_id = $2 FOR UPDATE OF e
          ), cancelled AS (
            UPDATE orders o SET status = 'cancelled' FROM ev
            WHERE o.id = $3 AND o.event_id = ev.id AND o.status = 'pending'
            RETURNING o.*
          ), released AS (
            UPDATE events e SET total_tickets = ev.total_tickets, tickets_sold = ev.tickets_sold, tickets_held = ev.tickets_held - c.quantity
            FROM cancelled c, ev WHERE e.id = c.event_id
            RETURNING e.id, e.event_name, e.date, e.ticket_price, e.total_tickets, e.tickets_sold, e.tickets_held, e.max_per_order, e.max_per_user, e.hold_minutes, e.currency, e.owner_id
          ), wh_order_cancelled_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, released wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'order.cancelled' = ANY (w.events)
), wh_order_cancelled AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_order_cancelled_to.id, 'order.cancelled', (SELECT id FROM released), json_build_object('id', o.id, 'event_id', o.event_id, 'user_id', o.user_id, 'status', o.status,
  'quantity', o.quantity, 'tickets', '[]'::json, 'total_price', o.total_price::text,
  'created_at', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'expires_at', CASE WHEN o.status = 'pending' THEN to_char(o.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END, 'event', json_build_object('id', released.id, 'event_name', released.event_name, 'date', to_char(released.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', released.ticket_price::text, 'total_tickets', released.total_tickets, 'tickets_sold', released.tickets_sold,
  'tickets_available', released.total_tickets - released.tickets_sold - released.tickets_held, 'max_per_order', released.max_per_order,
  'max_per_user', released.max_per_user, 'hold_minutes', released.hold_minutes, 'currency', released.currency))
  FROM wh_order_cancelled_to, cancelled o, released
  ORDER BY wh_order_cancelled_to.id, o.id
  RETURNING id
)
          SELECT event_id, quantity AS seats, 0 AS checked_in FROM cancelled;
