-- admission-tick.sql: rendered by `npm run statements` from the code beside this folder; do not edit.
-- $n are the statement's parameters.

SELECT pg_try_advisory_xact_lock($1) AS leader;

SELECT r.event_id, r.state, now() >= r.onsale_at AS onsale, r.shuffled_at IS NOT NULL AS shuffled,
       e.tickets_sold >= e.total_tickets AS sold_out, r.admit_per_minute, r.max_active, r.pass_minutes,
       r.grace_seconds, r.last_position, r.served_up_to, r.admit_credit
FROM waiting_rooms r JOIN events e ON e.id = r.event_id
WHERE r.state IN ('open', 'paused')
ORDER BY r.event_id
FOR NO KEY UPDATE OF r;

WITH ranked AS (
  SELECT q.id, row_number() OVER (ORDER BY md5(r.seed || ':' || q.user_id), q.user_id) AS rn
  FROM queue_entries q JOIN waiting_rooms r ON r.event_id = q.event_id
  WHERE q.event_id = $1 AND q.position IS NULL AND q.joined_at < r.onsale_at)
, done AS (UPDATE queue_entries q SET position = ranked.rn FROM ranked WHERE q.id = ranked.id RETURNING 1)
SELECT count(*)::int AS n FROM done;

UPDATE waiting_rooms SET shuffled_at = now() WHERE event_id = $1;

WITH ranked AS (
  SELECT id, row_number() OVER (ORDER BY joined_at, id) AS rn FROM queue_entries
  WHERE event_id = $1 AND position IS NULL)
, done AS (UPDATE queue_entries q SET position = $2 + ranked.rn FROM ranked WHERE q.id = ranked.id RETURNING 1)
SELECT count(*)::int AS n FROM done;

WITH t AS MATERIALIZED (SELECT clock_timestamp() AS at FROM pg_sleep(least($1, greatest(0, extract(epoch FROM $2::timestamptz - clock_timestamp())))))
SELECT t.at::text AS at, extract(epoch FROM t.at - r.last_tick_at)::float8 AS since_last_tick,
       (SELECT count(*)::int FROM queue_entries
        WHERE event_id = $3 AND status = 'admitted' AND completed_at IS NULL AND pass_expires_at > t.at) AS active,
       w.recent, (extract(epoch FROM w.frees - clock_timestamp()) * 1000)::float8 AS frees_in_ms, w.frees::text AS frees_at
FROM t CROSS JOIN waiting_rooms r
CROSS JOIN LATERAL (SELECT count(*)::int AS recent, min(admitted_at) + interval '1 second' AS frees FROM queue_entries
                    WHERE event_id = $4 AND admitted_at > t.at - interval '1 second') w
WHERE r.event_id = $5;

SELECT id::text, position, last_seen_at > $1::timestamptz - make_interval(secs => $2) AS present
FROM queue_entries
WHERE event_id = $3 AND status = 'waiting' AND position IS NOT NULL AND position > $4
ORDER BY position LIMIT $5;

UPDATE queue_entries SET status = 'abandoned' WHERE id = ANY($1::bigint[]);

UPDATE queue_entries SET status = 'admitted', admitted_at = $1::timestamptz, pass_id = gen_random_uuid(),
  pass_expires_at = $2::timestamptz + make_interval(mins => $3)
WHERE id = ANY($4::bigint[])
RETURNING extract(epoch FROM $5::timestamptz - joined_at)::float8 AS waited;

UPDATE waiting_rooms SET last_position = $1, served_up_to = $2, admit_credit = $3,
  last_tick_at = $4::timestamptz, waiting = $5, active = $6,
  admitted_total = admitted_total + $7, abandoned_total = abandoned_total + $8
WHERE event_id = $9;
