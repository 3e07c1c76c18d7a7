import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import type { DeliveredType } from '../outbox/types.js';

// The delivery queue's SQL. One endpoint is delivered by one worker at a time, across processes and hosts:
// a worker first takes the endpoint's lease (claimEndpoint), then reads the oldest pending rows of that
// endpoint (headOfQueue) and sends them, in outbox order per resource (partitions.ts), and records them all
// with one statement (recordAttempts). A worker that dies leaves a lease that runs out; another worker then sends
// the unrecorded rows again, with the same Webhook-Ids (at least once: receivers drop duplicates by id).

export interface ClaimedEndpoint {
  id: number;
  owner_id: number;
  url: string;
  secret: string;
  previous_secret: string | null;
}

/**
 * Leases one endpoint whose oldest pending webhook is due, of an owner not in `busyOwners` (those this
 * process already delivers to: one owner's slow receivers hold one of its loops, never all). `FOR UPDATE
 * ... SKIP LOCKED`: concurrent workers never wait for each other, and one that locks the row after
 * another's lease committed re-reads it, sees the lease and skips it.
 */
export async function claimEndpoint(db: Db, token: string, leaseSeconds: number, busyOwners: number[] = []): Promise<ClaimedEndpoint | null> {
  const rows = await queryRows<ClaimedEndpoint>(
    db,
    sql`WITH candidate AS (
          SELECT w.id FROM webhook_endpoints w
          CROSS JOIN LATERAL (
            SELECT o.next_attempt_at FROM webhook_outbox o
            WHERE o.endpoint_id = w.id AND o.status = 'pending' ORDER BY o.id LIMIT 1
          ) head
          WHERE head.next_attempt_at <= now() AND (w.lease_until IS NULL OR w.lease_until < now())
            AND w.owner_id <> ALL (${`{${busyOwners.join(',')}}`}::int[])
          ORDER BY head.next_attempt_at, w.id
          LIMIT 1
          FOR UPDATE OF w SKIP LOCKED
        )
        UPDATE webhook_endpoints w
        SET lease_until = now() + make_interval(secs => ${leaseSeconds}), lease_token = ${token}
        FROM candidate WHERE w.id = candidate.id
        RETURNING w.id, w.owner_id, w.url, w.secret,
                  CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret END AS previous_secret`,
  );
  return rows[0] ?? null;
}

export interface HeadWebhook {
  id: number;
  type: DeliveredType;
  data: unknown;
  created_at: Date;
  attempts: number;
  retry_until: Date;
  due: boolean;
  /**
   * Whether the endpoint's scope still covers it, by the owner's role now (issue 25): an admin's endpoint
   * covers every event only while its owner is an admin; otherwise only the owner's own events (and pings).
   */
  in_scope: boolean;
}

/**
 * The endpoint's oldest pending webhooks, up to `limit`, in outbox order; read after the lease committed (so
 * after the previous holder's results). The owner's role is read here, once per batch: a demoted admin's
 * endpoint stops hearing about other owners' events at its next lease, not only at its next registration.
 */
export async function headOfQueue(db: Db, endpointId: number, limit: number): Promise<HeadWebhook[]> {
  const rows = await queryRows<HeadWebhook & { id: number | string }>(
    db,
    sql`SELECT o.id, o.type, o.data, o.created_at, o.attempts, o.retry_until, o.next_attempt_at <= now() AS due,
               (owner.is_admin OR owner.own_events_only OR o.event_id IS NULL OR e.owner_id IS NOT DISTINCT FROM owner.owner_id) AS in_scope
        FROM (SELECT w.owner_id, u.role = 'admin' AS is_admin, (w.event_id IS NULL AND NOT w.all_events) AS own_events_only
              FROM webhook_endpoints w JOIN users u ON u.id = w.owner_id WHERE w.id = ${endpointId}) owner
        CROSS JOIN LATERAL (
          SELECT * FROM webhook_outbox WHERE endpoint_id = ${endpointId} AND status = 'pending' ORDER BY id LIMIT ${limit}
        ) o
        LEFT JOIN events e ON e.id = o.event_id
        ORDER BY o.id`,
  );
  return rows.map((row) => ({ ...row, id: Number(row.id) }));
}

export interface AttemptResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** succeeded, failed for good, or pending again after `retryInMs`. */
  status: 'succeeded' | 'failed' | 'pending';
  retryInMs: number;
}

/** One webhook's attempt under a lease, to be recorded. */
export interface Attempt {
  webhookId: number;
  result: AttemptResult;
}

/**
 * Records the attempts of one lease (each webhook's outcome) and gives the lease back, in one statement: one
 * round trip per batch, not per webhook. Guarded by the lease token: a worker whose lease ran out (it hung
 * past the lease) records nothing; the new holder's attempts count instead. Answers the recorded ids.
 */
export async function recordAttempts(db: Db, endpointId: number, token: string, attempts: Attempt[]): Promise<Set<number>> {
  // As JSON: the errors are free text, which an array literal would have to escape.
  const results = JSON.stringify(
    attempts.map(({ webhookId, result }) => ({
      outbox_id: webhookId,
      status: result.status,
      retry_seconds: result.retryInMs / 1000,
      status_code: result.statusCode,
      error: result.error,
      duration_ms: result.durationMs,
    })),
  );
  const rows = await queryRows<{ id: number | string }>(
    db,
    sql`WITH released AS (
          UPDATE webhook_endpoints SET lease_until = NULL, lease_token = NULL
          WHERE id = ${endpointId} AND lease_token = ${token}
          RETURNING id
        ), results AS (
          SELECT * FROM jsonb_to_recordset(${results}::jsonb)
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
        RETURNING outbox_id AS id`,
  );
  return new Set(rows.map((row) => Number(row.id)));
}

/** Gives the lease back without an attempt (nothing due after all, or the attempt was cut by a shutdown). */
export async function releaseEndpoint(db: Db, endpointId: number, token: string): Promise<void> {
  await db.execute(sql`UPDATE webhook_endpoints SET lease_until = NULL, lease_token = NULL WHERE id = ${endpointId} AND lease_token = ${token}`);
}

export interface QueueFigures {
  pending: number;
  oldest_seconds: number | null;
}

/**
 * Undelivered webhooks and the age of the oldest, for /metrics: per endpoint, on the pending part of its range
 * of webhook_outbox_endpoint_status_idx (never over the delivered rows that pile up until the purge). The
 * oldest pending row of an endpoint is its first by id (ids follow creation), so each endpoint reads one row
 * for the age.
 */
export async function queueFigures(db: Db): Promise<QueueFigures> {
  const rows = await queryRows<{ pending: number | string; oldest_seconds: number | string | null }>(
    db,
    sql`SELECT COALESCE(sum(q.pending), 0) AS pending, extract(epoch FROM now() - min(q.oldest))::float8 AS oldest_seconds
        FROM webhook_endpoints w CROSS JOIN LATERAL (
          SELECT (SELECT count(*) FROM webhook_outbox o WHERE o.endpoint_id = w.id AND o.status = 'pending') AS pending,
                 (SELECT o.created_at FROM webhook_outbox o WHERE o.endpoint_id = w.id AND o.status = 'pending' ORDER BY o.id LIMIT 1) AS oldest
        ) q`,
  );
  const row = rows[0]!;
  return { pending: Number(row.pending), oldest_seconds: row.oldest_seconds === null ? null : Number(row.oldest_seconds) };
}
