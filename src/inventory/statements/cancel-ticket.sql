-- cancel-ticket.sql: rendered by `npm run statements` from the code beside this folder; do not edit.
-- $n are the statement's parameters.

WITH ev AS (
        SELECT e.id, e.total_tickets, e.tickets_sold, e.tickets_held FROM events e JOIN tickets t ON t.event_id = e.id
        WHERE t.id = $1 AND t.user_id = $2 AND t.status = 'booked'
        FOR UPDATE OF e
      ), cancelled AS (
        UPDATE tickets t SET status = 'cancelled'
        FROM ev WHERE t.id = $3 AND t.user_id = $4 AND t.status = 'booked' AND t.checked_in_at IS NULL AND t.event_id = ev.id
        RETURNING t.id, t.event_id, t.user_id, t.status, t.purchase_date, t.code, t.checked_in_at
      ), released AS (
        UPDATE events e SET total_tickets = ev.total_tickets, tickets_sold = ev.tickets_sold - 1, tickets_held = ev.tickets_held
        FROM cancelled, ev WHERE e.id = cancelled.event_id
        RETURNING e.id, e.event_name, e.date, e.ticket_price, e.total_tickets, e.tickets_sold, e.tickets_held, e.max_per_order, e.max_per_user, e.hold_minutes, e.currency, e.owner_id
      ), wh_ticket_cancelled_to AS MATERIALIZED (
  SELECT w.id FROM webhook_endpoints w, released wh_ev
  WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND 'ticket.cancelled' = ANY (w.events)
), wh_ticket_cancelled AS (
  INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
  SELECT wh_ticket_cancelled_to.id, 'ticket.cancelled', (SELECT id FROM released), json_build_object('id', t.id, 'event_id', t.event_id, 'user_id', t.user_id, 'status', t.status,
  'purchase_date', to_char(t.purchase_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'code', t.code, 'checked_in_at', to_char(t.checked_in_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'event', json_build_object('id', released.id, 'event_name', released.event_name, 'date', to_char(released.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'ticket_price', released.ticket_price::text, 'total_tickets', released.total_tickets, 'tickets_sold', released.tickets_sold,
  'tickets_available', released.total_tickets - released.tickets_sold - released.tickets_held, 'max_per_order', released.max_per_order,
  'max_per_user', released.max_per_user, 'hold_minutes', released.hold_minutes, 'currency', released.currency))
  FROM wh_ticket_cancelled_to, cancelled t, released
  ORDER BY wh_ticket_cancelled_to.id, t.id
  RETURNING id
)
      SELECT released.*, cancelled.id AS ticket_id, cancelled.user_id, cancelled.status, cancelled.purchase_date,
             cancelled.code, cancelled.checked_in_at
      FROM cancelled JOIN released ON released.id = cancelled.event_id;
