import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import type { DeliveredType } from './types.js';

// The delivery queue's SQL. One endpoint is delivered by one worker at a time, across processes and hosts:
// a worker first takes the endpoint's lease (claimEndpoint), then sends the oldest pending row of that
// endpoint only, so each endpoint gets its webhooks one at a time and in outbox order. A worker that dies
// leaves a lease that runs out; another worker then sends the same row again, with the same Webhook-Id.

export interface ClaimedEndpoint {
  id: number;
  url: string;
  secret: string;
  previous_secret: string | null;
}

/**
 * Leases one endpoint whose oldest pending webhook is due. `FOR UPDATE ... SKIP LOCKED`: concurrent workers
 * never wait for each other, and one that locks the row after another's lease committed re-reads it, sees
 * the lease and skips it (the row's newest version is re-checked under the lock).
 */
export async function claimEndpoint(db: Db, token: string, leaseSeconds: number): Promise<ClaimedEndpoint | null> {
  const rows = await queryRows<ClaimedEndpoint>(
    db,
    sql`WITH candidate AS (
          SELECT w.id FROM webhook_endpoints w
          CROSS JOIN LATERAL (
            SELECT o.next_attempt_at FROM webhook_outbox o
            WHERE o.endpoint_id = w.id AND o.status = 'pending' ORDER BY o.id LIMIT 1
          ) head
          WHERE head.next_attempt_at <= now() AND (w.lease_until IS NULL OR w.lease_until < now())
          ORDER BY head.next_attempt_at, w.id
          LIMIT 1
          FOR UPDATE OF w SKIP LOCKED
        )
        UPDATE webhook_endpoints w
        SET lease_until = now() + make_interval(secs => ${leaseSeconds}), lease_token = ${token}
        FROM candidate WHERE w.id = candidate.id
        RETURNING w.id, w.url, w.secret,
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
}

/** The endpoint's oldest pending webhook, read after the lease committed (so after the previous holder's result). */
export async function headOfQueue(db: Db, endpointId: number): Promise<HeadWebhook | null> {
  const rows = await queryRows<HeadWebhook & { id: number | string }>(
    db,
    sql`SELECT id, type, data, created_at, attempts, retry_until, next_attempt_at <= now() AS due
        FROM webhook_outbox WHERE endpoint_id = ${endpointId} AND status = 'pending' ORDER BY id LIMIT 1`,
  );
  const row = rows[0];
  return row ? { ...row, id: Number(row.id) } : null;
}

export interface AttemptResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** succeeded, failed for good, or pending again after `retryInMs`. */
  status: 'succeeded' | 'failed' | 'pending';
  retryInMs: number;
}

/**
 * Records one attempt and gives the lease back, in one statement. Guarded by the lease token: a worker
 * whose lease ran out (it hung past the lease) records nothing; the new holder's attempt counts instead.
 */
export async function recordAttempt(db: Db, endpointId: number, token: string, webhookId: number, result: AttemptResult): Promise<boolean> {
  const rows = await queryRows<{ id: number }>(
    db,
    sql`WITH released AS (
          UPDATE webhook_endpoints SET lease_until = NULL, lease_token = NULL
          WHERE id = ${endpointId} AND lease_token = ${token}
          RETURNING id
        ), updated AS (
          UPDATE webhook_outbox o SET
            status = ${result.status}, attempts = o.attempts + 1,
            next_attempt_at = now() + make_interval(secs => ${result.retryInMs / 1000}),
            last_status_code = ${result.statusCode}::int, last_error = ${result.error}::text,
            delivered_at = CASE WHEN ${result.status} = 'succeeded' THEN now() END
          FROM released WHERE o.id = ${webhookId} AND o.endpoint_id = released.id AND o.status = 'pending'
          RETURNING o.id
        )
        INSERT INTO webhook_attempts (outbox_id, status_code, error, duration_ms)
        SELECT id, ${result.statusCode}::int, ${result.error}::text, ${result.durationMs} FROM updated
        RETURNING outbox_id AS id`,
  );
  return rows.length > 0;
}

/** Gives the lease back without an attempt (nothing due after all, or the attempt was cut by a shutdown). */
export async function releaseEndpoint(db: Db, endpointId: number, token: string): Promise<void> {
  await db.execute(sql`UPDATE webhook_endpoints SET lease_until = NULL, lease_token = NULL WHERE id = ${endpointId} AND lease_token = ${token}`);
}

export interface QueueFigures {
  pending: number;
  oldest_seconds: number | null;
}

/** Undelivered webhooks and the age of the oldest, for /metrics (on the partial index of pending rows). */
export async function queueFigures(db: Db): Promise<QueueFigures> {
  const rows = await queryRows<{ pending: number | string; oldest_seconds: number | string | null }>(
    db,
    sql`SELECT count(*) AS pending, extract(epoch FROM now() - min(created_at))::float8 AS oldest_seconds
        FROM webhook_outbox WHERE status = 'pending'`,
  );
  const row = rows[0]!;
  return { pending: Number(row.pending), oldest_seconds: row.oldest_seconds === null ? null : Number(row.oldest_seconds) };
}
