-- record-webhook-event.sql: rendered by `npm run statements` from the code beside this folder; do not edit.
-- $n are the statement's parameters.

INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
SELECT w.id, $1, $2::int, $3::json
FROM webhook_endpoints w
WHERE w.scope_key = ANY (ARRAY['e' || $4::int, 'o' || $5::int, 'a']) AND $6 = ANY (w.events)
ORDER BY w.id;
