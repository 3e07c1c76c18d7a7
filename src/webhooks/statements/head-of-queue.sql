-- head-of-queue.sql: rendered by `npm run statements` from the code beside this folder; do not edit.
-- $n are the statement's parameters.

SELECT id, type, data, created_at, attempts, retry_until, next_attempt_at <= now() AS due
FROM webhook_outbox WHERE endpoint_id = $1 AND status = 'pending' ORDER BY id LIMIT $2;
