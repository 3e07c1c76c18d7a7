-- record-attempts.sql: rendered by `npm run statements` from the code beside this folder; do not edit.
-- $n are the statement's parameters.

WITH released AS (
  UPDATE webhook_endpoints SET lease_until = NULL, lease_token = NULL
  WHERE id = $1 AND lease_token = $2
  RETURNING id
), results AS (
  SELECT * FROM jsonb_to_recordset($3::jsonb)
    AS r(outbox_id bigint, status text, retry_seconds float8, status_code int, error text, duration_ms int)
), updated AS (
  UPDATE webhook_outbox o SET
    status = r.status, attempts = o.attempts + 1,
    next_attempt_at = now() + make_interval(secs => r.retry_seconds),
    last_status_code = r.status_code, last_error = r.error,
    delivered_at = CASE WHEN r.status = 'succeeded' THEN now() END
  FROM results r, released WHERE o.id = r.outbox_id AND o.endpoint_id = released.id AND o.status = 'pending'
  RETURNING o.id, r.status_code, r.error, r.duration_ms
)
INSERT INTO webhook_attempts (outbox_id, status_code, error, duration_ms)
SELECT id, status_code, error, duration_ms FROM updated
RETURNING outbox_id AS id;
