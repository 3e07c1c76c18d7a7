-- claim-endpoint.sql: rendered by `npm run statements` from the code beside this folder; do not edit.
-- $n are the statement's parameters.

WITH candidate AS (
  SELECT w.id FROM webhook_endpoints w
  CROSS JOIN LATERAL (
    SELECT o.next_attempt_at FROM webhook_outbox o
    WHERE o.endpoint_id = w.id AND o.status = 'pending' ORDER BY o.id LIMIT 1
  ) head
  WHERE head.next_attempt_at <= now() AND (w.lease_until IS NULL OR w.lease_until < now())
    AND w.owner_id <> ALL ($1::int[])
  ORDER BY head.next_attempt_at, w.id
  LIMIT 1
  FOR UPDATE OF w SKIP LOCKED
)
UPDATE webhook_endpoints w
SET lease_until = now() + make_interval(secs => $2), lease_token = $3
FROM candidate WHERE w.id = candidate.id
RETURNING w.id, w.owner_id, w.url, w.secret,
          CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret END AS previous_secret;
