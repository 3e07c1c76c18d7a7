-- head-of-queue.sql: rendered by `npm run statements` from the code beside this folder; do not edit.
-- $n are the statement's parameters.

SELECT o.id, o.type, o.data, o.created_at, o.attempts, o.retry_until, o.next_attempt_at <= now() AS due,
       (owner.is_admin OR owner.own_events_only OR o.event_id IS NULL OR e.owner_id IS NOT DISTINCT FROM owner.owner_id) AS in_scope
FROM (SELECT w.owner_id, u.role = 'admin' AS is_admin, (w.event_id IS NULL AND NOT w.all_events) AS own_events_only
      FROM webhook_endpoints w JOIN users u ON u.id = w.owner_id WHERE w.id = $1) owner
CROSS JOIN LATERAL (
  SELECT * FROM webhook_outbox WHERE endpoint_id = $2 AND status = 'pending' ORDER BY id LIMIT $3
) o
LEFT JOIN events e ON e.id = o.event_id
ORDER BY o.id;
