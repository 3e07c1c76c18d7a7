import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { webhookOutbox } from '../db/schema.js';
import type { DeliveryQuery } from './schemas.js';
import type { DeliveredType } from '../outbox/types.js';

// Endpoints and their deliveries, for the routes. The delivery worker's SQL is in queue.ts.

export interface EndpointRow {
  id: number;
  owner_id: number;
  event_id: number | null;
  all_events: boolean;
  url: string;
  events: DeliveredType[];
  created_at: Date;
}

const ENDPOINT_COLUMNS = sql.raw('id, owner_id, event_id, all_events, url, events, created_at');

export interface NewEndpoint {
  ownerId: number;
  eventId: number | null;
  allEvents: boolean;
  url: string;
  events: DeliveredType[];
  secret: string;
}

export async function insertEndpoint(db: Db, endpoint: NewEndpoint): Promise<EndpointRow> {
  const rows = await queryRows<EndpointRow>(
    db,
    sql`INSERT INTO webhook_endpoints (owner_id, event_id, all_events, url, events, secret)
        VALUES (${endpoint.ownerId}, ${endpoint.eventId}::int, ${endpoint.allEvents}, ${endpoint.url},
                ${`{${endpoint.events.join(',')}}`}::text[], ${endpoint.secret})
        RETURNING ${ENDPOINT_COLUMNS}`,
  );
  return rows[0]!;
}

/** The owner of an event (null: none, the old service's events), or null when there is no such event. */
export function findEventOwner(db: Db, eventId: number): Promise<{ owner_id: number | null } | null> {
  return queryRows<{ owner_id: number | null }>(db, sql`SELECT owner_id FROM events WHERE id = ${eventId}`).then((rows) => rows[0] ?? null);
}

export function findEndpoint(db: Db, id: number): Promise<EndpointRow | null> {
  return queryRows<EndpointRow>(db, sql`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ${id}`).then((rows) => rows[0] ?? null);
}

/** An owner's endpoints, or every endpoint (ownerId null: an admin), by id. */
export function listEndpoints(db: Db, ownerId: number | null): Promise<EndpointRow[]> {
  return queryRows<EndpointRow>(
    db,
    sql`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE ${ownerId}::int IS NULL OR owner_id = ${ownerId}::int ORDER BY id`,
  );
}

/** Deletes the endpoint with its undelivered webhooks and its delivery history. */
export async function deleteEndpoint(db: Db, id: number): Promise<void> {
  await db.execute(sql`DELETE FROM webhook_endpoints WHERE id = ${id}`);
}

/** A new secret; the current one keeps signing too for `graceHours`, so receivers can switch without a gap. */
export async function rotateSecret(db: Db, id: number, secret: string, graceHours: number): Promise<EndpointRow | null> {
  const rows = await queryRows<EndpointRow>(
    db,
    sql`UPDATE webhook_endpoints SET previous_secret = secret, secret = ${secret},
          previous_secret_expires_at = now() + make_interval(hours => ${graceHours})
        WHERE id = ${id} RETURNING ${ENDPOINT_COLUMNS}`,
  );
  return rows[0] ?? null;
}

export interface DeliveryRow {
  id: number | string;
  type: string;
  status: 'pending' | 'succeeded' | 'failed';
  created_at: Date;
  attempts: number;
  next_attempt_at: Date;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  history: { attempted_at: string; status_code: number | null; error: string | null; duration_ms: number }[];
}

// Every outbox status, from the schema's column.
const STATUSES = webhookOutbox.status.enumValues;

/**
 * One page of an endpoint's deliveries, newest first, each with its latest attempts. The outbox's index is
 * (endpoint, status, id): each status is read newest first from its own range, at most a page deep, and the
 * ranges merged, rather than all the endpoint's rows sorted.
 */
export function listDeliveries(db: Db, endpointId: number, query: DeliveryQuery): Promise<DeliveryRow[]> {
  const depth = query.skip + query.limit;
  const ranges = (query.status ? [query.status] : STATUSES).map(
    (status) => sql`(SELECT * FROM webhook_outbox WHERE endpoint_id = ${endpointId} AND status = ${status} ORDER BY id DESC LIMIT ${depth})`,
  );
  return queryRows<DeliveryRow>(
    db,
    sql`SELECT o.id, o.type, o.status, o.created_at, o.attempts, o.next_attempt_at, o.last_status_code, o.last_error,
               o.delivered_at, COALESCE(h.history, '[]'::json) AS history
        FROM (SELECT * FROM (${sql.join(ranges, sql` UNION ALL `)}) r ORDER BY id DESC OFFSET ${query.skip} LIMIT ${query.limit}) o
        LEFT JOIN LATERAL (
          SELECT json_agg(json_build_object('attempted_at', a.attempted_at, 'status_code', a.status_code,
                                            'error', a.error, 'duration_ms', a.duration_ms) ORDER BY a.id DESC) AS history
          FROM (SELECT * FROM webhook_attempts WHERE outbox_id = o.id ORDER BY id DESC LIMIT 20) a
        ) h ON true
        ORDER BY o.id DESC`,
  );
}

/**
 * Puts a delivered or failed webhook back in the queue, due now, with 3 more days of retries. Only a row not
 * pending already: a retry of a pending one would race the worker for nothing.
 */
export async function requeueDelivery(db: Db, endpointId: number, deliveryId: number): Promise<'requeued' | 'pending' | 'missing'> {
  const rows = await queryRows<{ requeued: boolean }>(
    db,
    sql`WITH target AS (SELECT id, status FROM webhook_outbox WHERE id = ${deliveryId} AND endpoint_id = ${endpointId}),
        requeued AS (
          UPDATE webhook_outbox o SET status = 'pending', attempts = 0, next_attempt_at = now(),
            retry_until = now() + interval '3 days', delivered_at = NULL
          FROM target WHERE o.id = target.id AND o.status <> 'pending'
          RETURNING o.id
        )
        SELECT EXISTS (SELECT 1 FROM requeued) AS requeued FROM target`,
  );
  const row = rows[0];
  if (!row) return 'missing';
  return row.requeued ? 'requeued' : 'pending';
}
